"""PyTorch side of bench/memory.ts: peak resident MB of one training step or no-grad forward pass,
above the resident size once torch is loaded and has run an operator. Run with
MALLOC_MMAP_THRESHOLD_=65536 (bench/memory.ts sets it) so that freed tensors leave the resident set.
Usage: /usr/bin/python3 bench/memory_torch.py --model resnet-av|small-cnn --mode train|eval --batch N
"""
import argparse, json, os, resource, sys
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_torch import AV  # noqa: E402  the two-ResNet18 model of bench/engine.ts


def small_cnn():
    """src/models/encoders.ts SmallCNN(1, 16, 4) with a Linear head to 10 classes."""
    block = lambda cin, cout: [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
    return nn.Sequential(*block(1, 16), nn.MaxPool2d(2), *block(16, 32), nn.MaxPool2d(2), *block(32, 64),
                         nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(64 * 16, 10))


def maxrss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', choices=['resnet-av', 'small-cnn'], required=True)
    ap.add_argument('--mode', choices=['train', 'eval'], required=True)
    ap.add_argument('--batch', type=int, required=True)
    args = ap.parse_args()
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
