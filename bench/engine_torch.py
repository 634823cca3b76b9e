"""PyTorch side of bench/engine.ts: trains the same audio-visual model and prints JSON.

Model: ResNet18 audio encoder on 1x128x128 + ResNet18 visual encoder on 3x112x112, concat fusion
(Linear 1024 -> classes), cross-entropy, SGD(lr 0.01, momentum 0.9, weight decay 1e-4).
With --precision bf16|fp16, the forward pass and the loss run under torch.autocast (fp16 with
torch.cuda.amp.GradScaler), as PyTorch's AMP recipe.
Usage: /usr/bin/python3 bench/engine_torch.py --batch 32 --steps 10 --warmup 2 --threads 2 --format contiguous [--device cuda] [--precision bf16]
"""
import argparse, json, resource, statistics, time
import torch
import torch.nn as nn
import torchvision


def encoder(in_ch):
    m = torchvision.models.resnet18(num_classes=10)
    m.conv1 = nn.Conv2d(in_ch, 64, kernel_size=7, stride=2, padding=3, bias=False)
    m.fc = nn.Identity()
    return m


class AV(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.audio = encoder(1)
        self.visual = encoder(3)
        self.fc = nn.Linear(1024, classes)

    def forward(self, a, v):
        return self.fc(torch.cat([self.audio(a), self.visual(v)], 1))


def timed_steps(step, warmup, steps):
    """Seconds of each of `steps` calls of `step` after `warmup` untimed ones."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--classes', type=int, default=10)
    ap.add_argument('--format', choices=['contiguous', 'channels_last'], default='contiguous')
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--precision', choices=['fp32', 'bf16', 'fp16'], default='fp32')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    mf = torch.channels_last if args.format == 'channels_last' else torch.contiguous_format
    dev = torch.device(args.device)
    model = AV(args.classes).to(device=dev, memory_format=mf)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    a = torch.randn(args.batch, 1, 128, 128, device=dev).contiguous(memory_format=mf)
    v = torch.randn(args.batch, 3, 112, 112, device=dev).contiguous(memory_format=mf)
    y = torch.randint(0, args.classes, (args.batch,), device=dev)
    loss_fn = nn.CrossEntropyLoss()
    amp = args.precision != 'fp32'
    amp_dtype = torch.float16 if args.precision == 'fp16' else torch.bfloat16
    scaler = torch.cuda.amp.GradScaler() if args.precision == 'fp16' else None

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(dev.type, dtype=amp_dtype, enabled=amp):
            loss = loss_fn(model(a, v), y)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
        return loss.item()

    timed_steps(step, args.warmup, 0)
    faults0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    times = timed_steps(step, 0, args.steps)
    faults_per_step = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0) / args.steps
    med = statistics.median(times)  # as bench/stats.ts median: the mean of the two middle values for an even count
    print(json.dumps({'format': args.format, 'precision': args.precision, 'batch': args.batch, 'threads': torch.get_num_threads(), 'device': args.device,
                      'step_s_median': med, 'sps': args.batch / med, 'faults_per_step': faults_per_step, 'torch': torch.__version__}))


if __name__ == '__main__':
    main()
