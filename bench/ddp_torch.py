"""PyTorch side of bench/ddp.ts: one rank of PyTorch's own DistributedDataParallel (gloo), printing JSON.

The engine benchmark's model (bench/engine_torch.py: ResNet18 audio on 1x128x128 + ResNet18 visual
on 3x112x112, concat, Linear to 10, cross-entropy, SGD lr 0.01 momentum 0.9 weight decay 1e-4),
wrapped in torch.nn.parallel.DistributedDataParallel with its defaults (25 MiB buckets, no search
for unused parameters) except broadcast_buffers=False: mmgap's DDP does not broadcast buffers
before every forward, so neither side does. Each rank trains on batch / world random samples.
The job is described by torchrun's variables (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE), as
mmgap's launcher sets them.
Usage: RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29500 /usr/bin/python3 bench/ddp_torch.py --batch 32 --steps 10 --warmup 3 --threads 1
"""
import argparse, json, os
import torch
import torch.distributed as dist
import torch.nn as nn

from engine_torch import AV, timed_steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--batch', type=int, default=32, help='global batch (all ranks together)')
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--format', choices=['contiguous', 'channels_last'], default='channels_last')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dist.init_process_group('gloo', init_method='env://')
    rank, world = dist.get_rank(), dist.get_world_size()
    if args.batch % world:
        raise SystemExit(f'batch {args.batch} does not split over {world} ranks')
    local = args.batch // world
    torch.manual_seed(rank)
    mf = torch.channels_last if args.format == 'channels_last' else torch.contiguous_format
    model = AV(10).to(memory_format=mf)
    model.train()
    ddp = nn.parallel.DistributedDataParallel(model, broadcast_buffers=False)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    a = torch.randn(local, 1, 128, 128).contiguous(memory_format=mf)
    v = torch.randn(local, 3, 112, 112).contiguous(memory_format=mf)
    y = torch.randint(0, 10, (local,))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(ddp(a, v), y)
        loss.backward()
        opt.step()
        return loss.item()

    times = timed_steps(step, args.warmup, args.steps)
    dist.barrier()
    dist.destroy_process_group()
    print(json.dumps({'rank': rank, 'world': world, 'batch': args.batch, 'threads': torch.get_num_threads(), 'format': args.format,
                      'times': times, 'torch': torch.__version__, 'malloc_mmap_max': os.environ.get('MALLOC_MMAP_MAX_')}))


if __name__ == '__main__':
    main()
