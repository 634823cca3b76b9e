"""PyTorch side of bench/memory.ts: peak resident MB of one training step or no-grad forward pass,
above the resident size once torch is loaded and has run an operator. Run with
MALLOC_MMAP_THRESHOLD_=65536 (bench/memory.ts sets it) so that freed tensors leave the resident set.
Usage: /usr/bin/python3 bench/memory_torch.py --model resnet-av|small-cnn --mode train|eval --batch N
       /usr/bin/python3 bench/memory_torch.py --ragged PLAN.json   (bench/memory.ts --workload ragged:
       the batch plan's epochs on the model --encoder auto builds for the ragged corpus; also samples/s)
"""
import argparse, json, os, resource, sys, time
import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_torch import AV  # noqa: E402  the two-ResNet18 model of bench/engine.ts


def small_cnn():
    """src/models/encoders.ts SmallCNN(1, 16, 4) with a Linear head to 10 classes."""
    block = lambda cin, cout: [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
    return nn.Sequential(*block(1, 16), nn.MaxPool2d(2), *block(16, 32), nn.MaxPool2d(2), *block(32, 64),
                         nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(64 * 16, 10))


class SeqCNN(nn.Module):
    """src/models/encoders.ts SequenceCNN(26, 16): per-step projection, 3 residual dilated conv blocks, masked mean and max."""
    def __init__(self, d, width=16):
        super().__init__()
        c = 4 * width
        self.proj = nn.Linear(d, c)
        self.convs = nn.ModuleList([nn.Conv1d(c, c, 5, padding=2 * k, dilation=k) for k in (1, 2, 4)])
        self.norms = nn.ModuleList([nn.LayerNorm(c) for _ in range(3)])

    def forward(self, x, lengths):
        mask = (torch.arange(x.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)).to(x.dtype)
        m = mask.unsqueeze(2)
        h = self.proj(x) * m
        for conv, norm in zip(self.convs, self.norms):
            h = (h + norm(conv(h.transpose(1, 2)).transpose(1, 2)).relu()) * m
        mean = (h * m).sum(1) / m.sum(1).clamp(min=1)
        mx = h.masked_fill(m == 0, float('-inf')).max(1).values
        return torch.cat([mean, mx], 1)


class FrameSmallCNN(nn.Module):
    """src/models/encoders.ts FrameSmallCNN(1, 16): the small CNN on every valid frame, averaged per clip."""
    def __init__(self, width=16):
        super().__init__()
        block = lambda cin, cout: [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
        self.cnn = nn.Sequential(*block(1, width), nn.MaxPool2d(2), *block(width, 2 * width), nn.MaxPool2d(2), *block(2 * width, 4 * width),
                                 nn.AdaptiveAvgPool2d(4), nn.Flatten())
        self.dim = 4 * width * 16

    def forward(self, x, lengths):
        n, t = x.shape[:2]
        flat = x.reshape(n * t, *x.shape[2:])
        valid = (torch.arange(t).unsqueeze(0) < lengths.unsqueeze(1)).flatten()
        index = valid.nonzero().squeeze(1)
        f = self.cnn(flat.index_select(0, index))
        sums = torch.zeros(n, self.dim).index_add(0, torch.div(index, t, rounding_mode='floor'), f)
        return sums / lengths.clamp(min=1).unsqueeze(1).to(f.dtype)


class RaggedAV(nn.Module):
    """The concat fusion of src/models/fusion.ts over the two encoders (its per-modality logits included)."""
    def __init__(self, classes):
        super().__init__()
        self.audio, self.visual = SeqCNN(26), FrameSmallCNN()
        self.dims = [128, self.visual.dim]
        self.head = nn.Linear(sum(self.dims), classes)

    def forward(self, a, la, v, lv):
        fs = [self.audio(a, la), self.visual(v, lv)]
        share = self.head.bias / 2
        uni = [nn.functional.linear(f, self.head.weight.narrow(1, off, d), share) for f, off, d in zip(fs, (0, self.dims[0]), self.dims)]
        return self.head(torch.cat(fs, 1)), uni


def padded(root, modality, ids, steps):
    arrays = [np.load(os.path.join(root, modality, f'{i}.npy')) for i in ids]
    shape = arrays[0].shape[1:]
    out = np.zeros((len(ids), steps, *shape), dtype=np.float32)
    for k, a in enumerate(arrays):
        out[k, :a.shape[0]] = a
    x = torch.from_numpy(out)
    if len(shape) == 2:  # frames [T, H, W] batched as [T, 1, H, W]
        x = x.unsqueeze(2)
    return x, torch.tensor([a.shape[0] for a in arrays], dtype=torch.int64)


def ragged(plan_file):
    with open(plan_file) as f:
        plan = json.load(f)
    torch.set_num_threads(2)
    torch.manual_seed(0)
    torch.randn(4).sum().item()
    base = maxrss_kb()
    net = RaggedAV(len(plan['classes']))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    seconds, samples = 0.0, 0
    for epoch in plan['epochs']:
        for ids in epoch:
            a, la = padded(plan['root'], 'audio', ids, 79)
            v, lv = padded(plan['root'], 'visual', ids, 40)
            y = torch.tensor([plan['labels'][i] for i in ids], dtype=torch.int64)
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            fused, _ = net(a, la, v, lv)
            loss = nn.functional.cross_entropy(fused, y)
            loss.backward()
            opt.step()
            loss.item()
            del fused, loss
            seconds += time.perf_counter() - t0
            samples += len(ids)
    print(json.dumps({'peak_mb': (maxrss_kb() - base) / 1024, 'total_peak_mb': maxrss_kb() / 1024, 'sps': samples / seconds}))


def maxrss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', choices=['resnet-av', 'small-cnn'])
    ap.add_argument('--mode', choices=['train', 'eval'])
    ap.add_argument('--batch', type=int)
    ap.add_argument('--ragged', help='a batch plan written by bench/memory.ts --workload ragged')
    args = ap.parse_args()
    if args.ragged:
        return ragged(args.ragged)
    if not (args.model and args.mode and args.batch):
        ap.error('--model, --mode and --batch are required (or --ragged PLAN)')
    torch.set_num_threads(2)
    torch.manual_seed(0)
    torch.randn(4).sum().item()
    base = maxrss_kb()
    b = args.batch
    if args.model == 'resnet-av':
        cl = torch.channels_last
        net = AV(10).to(memory_format=cl)
        a = torch.randn(b, 1, 128, 128).contiguous(memory_format=cl)
        v = torch.randn(b, 3, 112, 112).contiguous(memory_format=cl)
        forward = lambda: net(a, v)
    else:
        net = small_cnn()
        x = torch.randn(b, 1, 64, 64)
        forward = lambda: net(x)
    y = torch.randint(0, 10, (b,))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    if args.mode == 'eval':
        net.eval()
        with torch.no_grad():
            forward().sum().item()
    else:
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(forward(), y)
        loss.backward()
        opt.step()
        loss.item()
    print(json.dumps({'peak_mb': (maxrss_kb() - base) / 1024}))


if __name__ == '__main__':
    main()
