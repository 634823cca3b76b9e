"""The PyTorch side of `npm run bench:loader -- --dataset frames` (Debian's python3-torch, torchvision, Pillow, SciPy).

  --make ROOT --clips N       writes a CREMA-D-layout folder: N training clips (train.csv) and a few test
                              clips, 2 frames of 340x256 per clip (JPEG, quality 90, ~photo-sized), 16 kHz
                              mono 16-bit WAVs of 1.5-3.5 s
  --decode LIST               ms per frame to decode the JPEG files listed in LIST with Pillow (bytes in memory)
  --load ROOT --ids LIST      samples/s of a torch DataLoader running the peers' CREMA-D recipe (OGM-GE,
                              MMPareto): per clip the log-|STFT| (22,050 Hz, 3 s tiled, n_fft 512, hop 353)
                              and 2 frames through RandomResizedCrop + RandomHorizontalFlip + ToTensor +
                              Normalize (PIL), batch --batch, --workers worker processes, shuffled; the first
                              epoch (worker start-up) is not timed
Prints one JSON object.
"""
import argparse
import io
import json
import os
import random
import time

import numpy as np

EMOTIONS = ['NEU', 'HAP', 'SAD', 'FEA', 'DIS', 'ANG']
SENTENCES = ['IEO', 'TIE', 'IOM', 'IWW', 'TAI', 'MTI', 'IWL', 'ITH', 'DFA', 'ITS', 'TSI', 'WSI']


def make(root, clips):
    from PIL import Image
    from scipy.io import wavfile
    rs = np.random.RandomState(0)
    ids = [f'{1001 + i % 91}_{SENTENCES[(i // 91) % 12]}_{EMOTIONS[i % 6]}_XX' for i in range(clips + 12)]
    y, x = np.mgrid[0:256, 0:340].astype(np.float32)
    for n, cid in enumerate(ids):
        folder = os.path.join(root, 'Image-01-FPS', cid)
        os.makedirs(folder, exist_ok=True)
        for f in range(2):
            # a smooth scene (low-frequency colour field, a face-sized blob) with sensor noise: compresses like a video frame
            field = np.kron(rs.rand(9, 12, 3), np.ones((32, 32, 1)))[:256, :340]
            blob = np.exp(-(((x - 170 - 20 * rs.randn()) / 60) ** 2 + ((y - 120) / 80) ** 2))[..., None]
            img = 255 * (0.6 * field + 0.4 * blob) + 6 * rs.randn(256, 340, 3)
            im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).resize((340, 256), Image.BILINEAR)
            im.save(os.path.join(folder, f'{f:05d}.jpg'), quality=90)
        seconds = rs.uniform(1.5, 3.5)
        t = np.arange(int(seconds * 16000)) / 16000
        f0 = 110 + 90 * rs.rand()
        voice = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 8)) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
        wave = 0.2 * voice / 3 + 0.02 * rs.randn(t.size)
        os.makedirs(os.path.join(root, 'AudioWAV'), exist_ok=True)
        wavfile.write(os.path.join(root, 'AudioWAV', f'{cid}.wav'), 16000, (np.clip(wave, -1, 1) * 32767).astype(np.int16))
    with open(os.path.join(root, 'train.csv'), 'w') as fh:
        fh.writelines(f'{cid},{cid.split("_")[2]}\n' for cid in ids[:clips])
    with open(os.path.join(root, 'test.csv'), 'w') as fh:
        fh.writelines(f'{cid},{cid.split("_")[2]}\n' for cid in ids[clips:])


def decode(listing):
    from PIL import Image
    files = open(listing).read().split()
    blobs = [open(f, 'rb').read() for f in files]

    def once():
        for b in blobs:
            im = Image.open(io.BytesIO(b))
            im.load()
    once()  # warm
    t0 = time.perf_counter()
    once()
    return {'pillow_ms_per_frame': 1000 * (time.perf_counter() - t0) / len(blobs), 'frames': len(blobs)}


def load(root, ids, workers, batch, size, epochs):
    import torch
    from PIL import Image
    from scipy.io import wavfile
    from scipy.signal import resample_poly
    from torch.utils.data import DataLoader, Dataset
    from torchvision import transforms

    labels = {cid: EMOTIONS.index(cid.split('_')[2]) for cid in ids}
    window = torch.hann_window(512)
    frame_tf = transforms.Compose([
        transforms.RandomResizedCrop(size), transforms.RandomHorizontalFlip(), transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])

    class Clips(Dataset):
        def __len__(self):
            return len(ids)

        def __getitem__(self, i):
            cid = ids[i]
            rate, pcm = wavfile.read(os.path.join(root, 'AudioWAV', f'{cid}.wav'))
            wave = resample_poly(pcm.astype(np.float32) / 32768, 441, 320) if rate == 16000 else pcm.astype(np.float32) / 32768
            wave = np.tile(wave, int(np.ceil(3 * 22050 / len(wave))))[:3 * 22050].clip(-1, 1)
            spec = torch.stft(torch.from_numpy(wave.astype(np.float32)), 512, 353, window=window, center=True, pad_mode='reflect', return_complex=True)
            audio = torch.log(spec.abs() + 1e-7).unsqueeze(0)
            folder = os.path.join(root, 'Image-01-FPS', cid)
            files = sorted(os.listdir(folder))
            seg = len(files) / 2
            picks = [min(len(files) - 1, int(k * seg + random.random() * seg)) for k in range(2)]
            frames = torch.stack([frame_tf(Image.open(os.path.join(folder, files[p])).convert('RGB')) for p in picks])
            return audio, frames, labels[cid]

    loader = DataLoader(Clips(), batch_size=batch, shuffle=True, num_workers=workers, persistent_workers=workers > 0)
    for _ in loader:  # start-up epoch, untimed
        pass
    t0 = time.perf_counter()
    seen = 0
    for _ in range(epochs):
        for audio, frames, y in loader:
            seen += y.numel()
    seconds = time.perf_counter() - t0
    return {'torch_sps': seen / seconds, 'samples': seen, 'seconds': seconds, 'workers': workers,
            'audio_shape': list(audio.shape[1:]), 'visual_shape': list(frames.shape[1:])}


if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--make')
    p.add_argument('--clips', type=int, default=512)
    p.add_argument('--decode')
    p.add_argument('--load')
    p.add_argument('--ids')
    p.add_argument('--workers', type=int, default=2)
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--image-size', type=int, default=224)
    p.add_argument('--epochs', type=int, default=1)
    a = p.parse_args()
    if a.make:
        make(a.make, a.clips)
        print(json.dumps({'made': a.make, 'clips': a.clips}))
    elif a.decode:
        print(json.dumps(decode(a.decode)))
    else:
        print(json.dumps(load(a.load, open(a.ids).read().split(), a.workers, a.batch, a.image_size, a.epochs)))
