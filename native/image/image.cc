// Image decoding and the per-frame recipe for the data loader, kept apart from the libtorch addon
// (no libtorch needed): JPEG through libjpeg-turbo's TurboJPEG API, PNG through libpng's simplified
// API. Synchronous on purpose: the loader calls it from its worker threads. Format sniffing of
// unknown files, the choice of crop box, flip and decode scale stay in TypeScript
// (src/data/image/frames.ts); renderFrame does the pixel work of one frame in one call.
#include <napi.h>
#include <png.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// One TurboJPEG decompressor per thread (the loader's workers each own one), freed at thread exit.
struct Decompressor {
  tjhandle handle = tjInitDecompress();
  ~Decompressor() { if (handle) tjDestroy(handle); }
};

thread_local Decompressor threadDecompressor;

tjhandle decompressor() {
  if (!threadDecompressor.handle) throw std::runtime_error("cannot start a libjpeg-turbo decompressor");
  return threadDecompressor.handle;
}

// A handle that failed mid-stream (a corrupt file) can misread the next file's header, so the
// thread's decompressor is replaced before the error is thrown.
[[noreturn]] void jpegError(Napi::Env env, tjhandle h, std::string message) {
  if (h == threadDecompressor.handle) {
    tjDestroy(threadDecompressor.handle);
    threadDecompressor.handle = tjInitDecompress();
  }
  throw Napi::Error::New(env, message);
}

Napi::Uint8Array bytesArg(const Napi::CallbackInfo& info, const char* fn) {
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": expected a Uint8Array of encoded image bytes");
  }
  return info[0].As<Napi::Uint8Array>();
}

bool isJpeg(const Napi::Uint8Array& b) { return b.ByteLength() > 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff; }
bool isPng(const Napi::Uint8Array& b) { return b.ByteLength() > 8 && b[0] == 0x89 && b[1] == 0x50 && b[2] == 0x4e && b[3] == 0x47; }

Napi::Object image(Napi::Env env, int width, int height, int channels, Napi::Uint8Array data) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("width", width);
  o.Set("height", height);
  o.Set("channels", channels);
  o.Set("data", data);
  return o;
}

// The stored size; a stream cut inside its header reads as 0 x 0 without an error, hence the check.
void readJpegHeader(Napi::Env env, tjhandle h, const Napi::Uint8Array& bytes, int* width, int* height) {
  int subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(h, bytes.Data(), bytes.ByteLength(), width, height, &subsamp, &colorspace) != 0) jpegError(env, h, tjGetErrorStr2(h));
  if (*width < 1 || *height < 1) jpegError(env, h, "JPEG header ends before the image size");
}

// A PNG opened with libpng's simplified API (header read, pixels not yet), closed on scope exit.
struct PngReader {
  png_image img{};
  PngReader(Napi::Env env, const Napi::Uint8Array& bytes) {
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&img, bytes.Data(), bytes.ByteLength())) fail(env);
    img.format = PNG_FORMAT_RGBA;
    // 16-bit samples are plain levels (as Pillow and the video tools treat them), not linear light
    img.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
  }
  ~PngReader() { png_image_free(&img); }
  // 8-bit RGBA, row after row (PNG_IMAGE_SIZE computes this in 32 bits, which wraps for huge images)
  size_t bytes() const { return size_t{4} * img.width * img.height; }
  void read(Napi::Env env, uint8_t* into) {
    if (!png_image_finish_read(&img, nullptr, into, 0, nullptr)) fail(env);
  }
  [[noreturn]] void fail(Napi::Env env) {
    std::string msg = img.message;
    png_image_free(&img);
    throw Napi::Error::New(env, msg);
  }
};

// imageSize(bytes) -> { width, height, format: 'jpeg' | 'png' }: the stored size from the header
// alone, for choosing a crop box and a decode scale.
Napi::Value ImageSize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array bytes = bytesArg(info, "imageSize");
  Napi::Object o = Napi::Object::New(env);
  if (isJpeg(bytes)) {
    int width = 0, height = 0;
    readJpegHeader(env, decompressor(), bytes, &width, &height);
    o.Set("width", width);
    o.Set("height", height);
    o.Set("format", "jpeg");
  } else if (isPng(bytes)) {
    PngReader png(env, bytes);
    o.Set("width", static_cast<double>(png.img.width));
    o.Set("height", static_cast<double>(png.img.height));
    o.Set("format", "png");
  } else {
    throw Napi::Error::New(env, "not a JPEG or PNG image");
  }
  return o;
}

// A header claiming a gigantic image is refused before any memory is asked for (V8 aborts the
// whole process when it cannot allocate an ArrayBuffer).
void checkDecodedSize(Napi::Env env, size_t bytes, size_t width, size_t height) {
  if (bytes > (size_t{1} << 31)) throw Napi::Error::New(env, "the header claims " + std::to_string(width) + "x" + std::to_string(height) + " pixels, over 2 GiB decoded");
}

// The output buffer: the caller's `into` (info[index]) when given and large enough, so that a
// worker decoding frame after frame reuses one buffer (fresh large buffers cost page faults
// that, on some machines, take longer than the decode itself); else a new one.
Napi::Uint8Array output(const Napi::CallbackInfo& info, size_t index, size_t bytes) {
  if (info.Length() > index && info[index].IsTypedArray()) {
    Napi::TypedArray t = info[index].As<Napi::TypedArray>();
    if (t.TypedArrayType() == napi_uint8_array && t.ByteLength() >= bytes) return t.As<Napi::Uint8Array>();
  }
  return Napi::Uint8Array::New(info.Env(), bytes);
}

int scaleDenomOf(Napi::Env env, const char* fn, Napi::Value v) {
  int denom = v.IsNumber() ? v.As<Napi::Number>().Int32Value() : 0;
  if (denom != 1 && denom != 2 && denom != 4 && denom != 8) throw Napi::RangeError::New(env, std::string(fn) + ": scaleDenom must be 1, 2, 4 or 8");
  return denom;
}

// Decodes a JPEG to RGB at 1/denom of its stored size (libjpeg's DCT scaling; sizes rounded up as
// libjpeg does) into `out`, which holds TJSCALED(width) x TJSCALED(height) x 3 bytes. Warnings (a
// truncated or damaged stream) are errors too: a frame is either decoded whole or reported.
void decodeJpegInto(Napi::Env env, tjhandle h, const Napi::Uint8Array& bytes, int w, int hgt, uint8_t* out) {
  if (tjDecompress2(h, bytes.Data(), bytes.ByteLength(), out, w, 0, hgt, TJPF_RGB, TJFLAG_STOPONWARNING) != 0) jpegError(env, h, tjGetErrorStr2(h));
}

// decodeJpeg(bytes, scaleDenom, into?) -> { width, height, channels: 3, data }: RGB at 1/scaleDenom
// of the stored size, in `into` when it is large enough.
Napi::Value DecodeJpeg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array bytes = bytesArg(info, "decodeJpeg");
  int denom = info.Length() > 1 ? scaleDenomOf(env, "decodeJpeg", info[1]) : 1;
  tjhandle h = decompressor();
  int width = 0, height = 0;
  readJpegHeader(env, h, bytes, &width, &height);
  tjscalingfactor sf{1, denom};
  int w = TJSCALED(width, sf), hgt = TJSCALED(height, sf);
  checkDecodedSize(env, static_cast<size_t>(w) * hgt * 3, width, height);
  Napi::Uint8Array out = output(info, 2, static_cast<size_t>(w) * hgt * 3);
  decodeJpegInto(env, h, bytes, w, hgt, out.Data());
  return image(env, w, hgt, 3, out);
}

// decodePng(bytes, into?) -> { width, height, channels: 4, data }: 8-bit RGBA whatever the stored depth,
// palette or grey layout (16-bit samples scaled to the nearest 8-bit level by libpng).
Napi::Value DecodePng(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PngReader png(env, bytesArg(info, "decodePng"));
  checkDecodedSize(env, png.bytes(), png.img.width, png.img.height);
  Napi::Uint8Array out = output(info, 1, png.bytes());
  png.read(env, out.Data());
  return image(env, static_cast<int>(png.img.width), static_cast<int>(png.img.height), 4, out);
}

// ---- the frame recipe: crop + antialiased bilinear resize + flip + normalise, HWC 8-bit -> CHW float32

// Triangle-filter taps of one axis: output pixel i reads count[i] input pixels from start[i], with
// weights[i * maxTaps + k].
struct Taps {
  std::vector<int> start, count;
  std::vector<float> weights;
  int maxTaps = 0;
};

// JavaScript's Math.round (halves up), which the fallback below has always used.
double roundHalfUp(double v) {
  double r = std::floor(v);
  return v - r >= 0.5 ? r + 1 : r;
}

// Taps mapping `outLen` output pixels onto [offset, offset + length) of an axis of `inLen` pixels,
// pixel centres at +0.5 (align_corners=False); the filter widens by the downscale factor
// (antialias, as PIL's bilinear resize and torch's interpolate(antialias=True)). Taps outside the
// region are dropped and the rest renormalised, so a box behaves as a crop followed by a resize
// (torchvision's resized_crop). Computed in doubles, weights stored as float: the arithmetic of
// mmgap's former JavaScript recipe, kept operation for operation so that frames did not change.
void computeTaps(Taps& t, int inLen, double offset, double length, int outLen) {
  const double scale = length / outLen;
  const double support = scale > 1 ? scale : 1;
  t.maxTaps = static_cast<int>(std::ceil(support)) * 2 + 1;
  const int first = std::max(0, static_cast<int>(std::floor(offset)));
  const int last = std::min(inLen - 1, static_cast<int>(std::ceil(offset + length)) - 1);
  t.start.assign(outLen, 0);
  t.count.assign(outLen, 0);
  t.weights.assign(static_cast<size_t>(outLen) * t.maxTaps, 0.f);
  for (int i = 0; i < outLen; i++) {
    const double centre = offset + (i + 0.5) * scale;
    const int lo = std::max(first, static_cast<int>(std::floor(centre - support)));
    const int hi = std::min(last, static_cast<int>(std::ceil(centre + support)));
    float* w = &t.weights[static_cast<size_t>(i) * t.maxTaps];
    double sum = 0;
    int n = 0;
    for (int j = lo; j <= hi && n < t.maxTaps; j++) {
      const double wj = std::max(0.0, 1 - std::fabs(j + 0.5 - centre) / support);
      w[n++] = static_cast<float>(wj);
      sum += wj;
    }
    if (sum == 0) {
      // no pixel under the filter (degenerate box): take the nearest pixel of the region
      w[0] = 1;
      n = 1;
      sum = 1;
      t.start[i] = std::min(last, std::max(first, static_cast<int>(roundHalfUp(centre - 0.5))));
    } else {
      t.start[i] = lo;
    }
    for (int k = 0; k < n; k++) w[k] = static_cast<float>(w[k] / sum);
    t.count[i] = n;
  }
}

// What renderFrame does to one frame, read from its `transform` argument.
struct Transform {
  double x, y, width, height;  // crop box in stored pixels
  int size;                    // output side
  bool flip;                   // mirror left-right
  int scaleDenom;              // JPEG decoded at 1/scaleDenom
  double scale[3], shift[3];   // value / 255 -> (value / 255 - mean) / std, folded
};

[[noreturn]] void bad(Napi::Env env, const std::string& msg) { throw Napi::RangeError::New(env, "renderFrame: " + msg); }

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

double numberField(Napi::Env env, const Napi::Object& o, const char* name) {
  Napi::Value v = o.Get(name);
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("renderFrame: transform.") + name + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

void channelsField(Napi::Env env, const Napi::Object& o, const char* name, double* into) {
  Napi::Value v = o.Get(name);
  if (!v.IsArray() || v.As<Napi::Array>().Length() != 3) throw Napi::TypeError::New(env, std::string("renderFrame: transform.") + name + " must be an array of 3 numbers (R, G, B)");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t c = 0; c < 3; c++) {
    Napi::Value e = a.Get(c);
    if (!e.IsNumber()) throw Napi::TypeError::New(env, std::string("renderFrame: transform.") + name + " must be an array of 3 numbers (R, G, B)");
    into[c] = e.As<Napi::Number>().DoubleValue();
  }
}

Transform transformArg(Napi::Env env, Napi::Value v) {
  if (!v.IsObject()) throw Napi::TypeError::New(env, "renderFrame: expected a transform { x, y, width, height, size, flip, scaleDenom, mean, std }");
  Napi::Object o = v.As<Napi::Object>();
  Transform t{};
  t.x = numberField(env, o, "x");
  t.y = numberField(env, o, "y");
  t.width = numberField(env, o, "width");
  t.height = numberField(env, o, "height");
  const double size = numberField(env, o, "size");
  if (!(size >= 1 && size <= 65536 && size == std::floor(size))) bad(env, "size must be an integer from 1 to 65536 (got " + num(size) + ")");
  t.size = static_cast<int>(size);
  Napi::Value flip = o.Get("flip");
  if (!flip.IsBoolean()) throw Napi::TypeError::New(env, "renderFrame: transform.flip must be a boolean");
  t.flip = flip.As<Napi::Boolean>().Value();
  t.scaleDenom = scaleDenomOf(env, "renderFrame", o.Get("scaleDenom"));
  double mean[3], std[3];
  channelsField(env, o, "mean", mean);
  channelsField(env, o, "std", std);
  for (int c = 0; c < 3; c++) {
    if (!(std::isfinite(std[c]) && std[c] != 0 && std::isfinite(mean[c]))) bad(env, "mean and std must be finite, std non-zero (got std " + num(std[c]) + ")");
    t.scale[c] = 1 / (255 * std[c]);
    t.shift[c] = mean[c] / std[c];
  }
  return t;
}

// The box must lie inside the stored image and be at least a pixel's hair wide: otherwise the
// taps would read outside the decoded pixels.
void checkBox(Napi::Env env, const Transform& t, int width, int height) {
  const bool inside = t.x >= 0 && t.y >= 0 && t.width > 0 && t.height > 0 && t.x + t.width <= width && t.y + t.height <= height;
  if (!inside) {
    bad(env, "crop box x " + num(t.x) + ", y " + num(t.y) + ", width " + num(t.width) + ", height " + num(t.height) + " is not inside the " +
        std::to_string(width) + "x" + std::to_string(height) + " image (needs width, height > 0 and the box within the image)");
  }
}

// Per-thread scratch, reused from frame to frame (fresh large buffers cost page faults).
struct Scratch {
  std::vector<uint8_t> pixels;
  Taps tx, ty;
  std::vector<float> rows;
  std::vector<double> acc;
};

// The decoded pixels' buffer: the thread's scratch, grown as needed.
uint8_t* pixelsFor(Napi::Env env, Scratch& s, size_t bytes, int width, int height) {
  checkDecodedSize(env, bytes, width, height);
  s.pixels.resize(bytes);
  return s.pixels.data();
}

// Resamples `box` of interleaved 8-bit pixels (C = 3: RGB, 4: RGBA with alpha ignored) to
// size x size and writes (value * scale[c] - shift[c]) planar [3, size, size] to `out`, mirrored
// with `flip`. Horizontal pass first, over only the input rows the vertical pass reads; sums in
// doubles in a fixed order, as the former JavaScript recipe did.
template <int C>
void resample(Scratch& s, const uint8_t* data, int width, int height, double bx, double by, double bw, double bh, const Transform& t, float* out) {
  const int n = t.size;
  computeTaps(s.tx, width, bx, bw, n);
  computeTaps(s.ty, height, by, bh, n);
  const Taps& tx = s.tx;
  const Taps& ty = s.ty;
  int rowLo = height, rowHi = 0;
  for (int j = 0; j < n; j++) {
    rowLo = std::min(rowLo, ty.start[j]);
    rowHi = std::max(rowHi, ty.start[j] + ty.count[j]);
  }
  const int rows = rowHi - rowLo;
  const size_t plane = static_cast<size_t>(rows) * n;
  s.rows.resize(3 * plane);
  float* tmp = s.rows.data();
  for (int r = 0; r < rows; r++) {
    const uint8_t* row = data + static_cast<size_t>(rowLo + r) * width * C;
    for (int i = 0; i < n; i++) {
      const uint8_t* p = row + static_cast<size_t>(tx.start[i]) * C;
      const float* w = &tx.weights[static_cast<size_t>(i) * tx.maxTaps];
      double a0 = 0, a1 = 0, a2 = 0;
      for (int k = 0; k < tx.count[i]; k++, p += C) {
        const double wk = w[k];
        a0 += p[0] * wk;
        a1 += p[1] * wk;
        a2 += p[2] * wk;
      }
      const size_t at = static_cast<size_t>(r) * n + i;
      tmp[at] = static_cast<float>(a0);
      tmp[plane + at] = static_cast<float>(a1);
      tmp[2 * plane + at] = static_cast<float>(a2);
    }
  }
  s.acc.resize(n);
  double* acc = s.acc.data();
  const size_t outPlane = static_cast<size_t>(n) * n;
  for (int c = 0; c < 3; c++) {
    const double scale = t.scale[c], shift = t.shift[c];
    for (int j = 0; j < n; j++) {
      const float* w = &ty.weights[static_cast<size_t>(j) * ty.maxTaps];
      const float* first = tmp + c * plane + static_cast<size_t>(ty.start[j] - rowLo) * n;
      std::fill(acc, acc + n, 0.0);
      for (int k = 0; k < ty.count[j]; k++) {
        const double wk = w[k];
        const float* src = first + static_cast<size_t>(k) * n;
        for (int i = 0; i < n; i++) acc[i] += src[i] * wk;
      }
      float* o = out + c * outPlane + static_cast<size_t>(j) * n;
      if (t.flip) {
        for (int i = 0; i < n; i++) o[n - 1 - i] = static_cast<float>(acc[i] * scale - shift);
      } else {
        for (int i = 0; i < n; i++) o[i] = static_cast<float>(acc[i] * scale - shift);
      }
    }
  }
}

// renderFrame(bytes, transform, out, offset): one frame through the recipe in one call — decode
// (JPEG at 1/scaleDenom, PNG at full size), crop transform's box (x, y, width, height in stored
// pixels), antialiased bilinear resize to size x size, optional left-right flip, (v / 255 - mean) /
// std, written planar [3, size, size] as float32 into `out` from element `offset` (a worker's
// batch buffer). Bad arguments are TypeErrors/RangeErrors; a damaged file is an Error with the
// library's message; nothing outside out[offset, offset + 3 size^2) is written.
Napi::Value RenderFrame(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array bytes = bytesArg(info, "renderFrame");
  Transform t = transformArg(env, info[1]);
  if (info.Length() < 3 || !info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(env, "renderFrame: out must be a Float32Array");
  }
  Napi::Float32Array out = info[2].As<Napi::Float32Array>();
  const double offset = info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().DoubleValue() : -1;
  if (!(offset >= 0 && offset == std::floor(offset))) bad(env, "offset must be a non-negative integer");
  const double need = offset + 3.0 * t.size * t.size;
  if (need > static_cast<double>(out.ElementLength())) {
    bad(env, "out holds " + std::to_string(out.ElementLength()) + " floats, but a 3x" + std::to_string(t.size) + "x" + std::to_string(t.size) +
        " frame at offset " + num(offset) + " needs " + num(need) + " (pass a larger buffer or a smaller offset)");
  }
  float* dst = out.Data() + static_cast<size_t>(offset);
  thread_local Scratch s;
  if (isJpeg(bytes)) {
    tjhandle h = decompressor();
    int width = 0, height = 0;
    readJpegHeader(env, h, bytes, &width, &height);
    checkBox(env, t, width, height);
    tjscalingfactor sf{1, t.scaleDenom};
    const int w = TJSCALED(width, sf), hgt = TJSCALED(height, sf);
    uint8_t* pixels = pixelsFor(env, s, static_cast<size_t>(w) * hgt * 3, width, height);
    decodeJpegInto(env, h, bytes, w, hgt, pixels);
    // decoded pixel j covers stored pixels [j d, (j + 1) d): the box scales by 1/d
    const double d = t.scaleDenom;
    resample<3>(s, pixels, w, hgt, t.x / d, t.y / d, t.width / d, t.height / d, t, dst);
  } else if (isPng(bytes)) {
    if (t.scaleDenom != 1) bad(env, "scaleDenom must be 1 for a PNG (DCT scaling is JPEG's)");
    PngReader png(env, bytes);
    const int width = static_cast<int>(png.img.width), height = static_cast<int>(png.img.height);
    checkBox(env, t, width, height);
    uint8_t* pixels = pixelsFor(env, s, png.bytes(), width, height);
    png.read(env, pixels);
    resample<4>(s, pixels, width, height, t.x, t.y, t.width, t.height, t, dst);
  } else {
    throw Napi::Error::New(env, "not a JPEG or PNG image");
  }
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("imageSize", Napi::Function::New(env, ImageSize));
  exports.Set("decodeJpeg", Napi::Function::New(env, DecodeJpeg));
  exports.Set("decodePng", Napi::Function::New(env, DecodePng));
  exports.Set("renderFrame", Napi::Function::New(env, RenderFrame));
  return exports;
}

}  // namespace

NODE_API_MODULE(mmgap_image, Init)
