// Image decoding for the data loader, kept apart from the libtorch addon (no libtorch needed):
// JPEG through libjpeg-turbo's TurboJPEG API, PNG through libpng's simplified API. Synchronous on
// purpose: the loader calls it from its worker threads. Each call returns interleaved 8-bit pixels;
// everything else (format sniffing, scale choice, crops, resizing) is TypeScript's.
#include <napi.h>
#include <png.h>
#include <turbojpeg.h>

#include <stdexcept>
#include <string>

namespace {

// One TurboJPEG decompressor per thread (the loader's workers each own one), freed at thread exit.
struct Decompressor {
  tjhandle handle = tjInitDecompress();
  ~Decompressor() { if (handle) tjDestroy(handle); }
};

tjhandle decompressor() {
  thread_local Decompressor d;
  if (!d.handle) throw std::runtime_error("cannot start a libjpeg-turbo decompressor");
  return d.handle;
}

Napi::Uint8Array bytesArg(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(info.Env(), "expected a Uint8Array of encoded image bytes");
  }
  return info[0].As<Napi::Uint8Array>();
}

Napi::Object image(Napi::Env env, int width, int height, int channels, Napi::Uint8Array data) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("width", width);
  o.Set("height", height);
  o.Set("channels", channels);
  o.Set("data", data);
  return o;
}

// The stored size; a stream cut inside its header reads as 0 x 0 without an error, hence the check.
void readHeader(Napi::Env env, tjhandle h, const Napi::Uint8Array& bytes, int* width, int* height) {
  int subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(h, bytes.Data(), bytes.ByteLength(), width, height, &subsamp, &colorspace) != 0) {
    throw Napi::Error::New(env, tjGetErrorStr2(h));
  }
  if (*width < 1 || *height < 1) throw Napi::Error::New(env, "JPEG header ends before the image size");
}

// jpegHeader(bytes) -> { width, height }: the stored size, for choosing a decode scale.
Napi::Value JpegHeader(const Napi::CallbackInfo& info) {
  Napi::Uint8Array bytes = bytesArg(info);
  int width = 0, height = 0;
  readHeader(info.Env(), decompressor(), bytes, &width, &height);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("width", width);
  o.Set("height", height);
  return o;
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

// decodeJpeg(bytes, scaleDenom, into?) -> { width, height, channels: 3, data }: RGB at 1/scaleDenom
// of the stored size (libjpeg's DCT scaling; size rounded up as libjpeg does), in `into` when it
// is large enough. Warnings (a truncated or damaged stream) are errors too: a frame is either
// decoded whole or reported.
Napi::Value DecodeJpeg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array bytes = bytesArg(info);
  int denom = info.Length() > 1 ? info[1].As<Napi::Number>().Int32Value() : 1;
  if (denom != 1 && denom != 2 && denom != 4 && denom != 8) throw Napi::RangeError::New(env, "scaleDenom must be 1, 2, 4 or 8");
  tjhandle h = decompressor();
  int width = 0, height = 0;
  readHeader(env, h, bytes, &width, &height);
  tjscalingfactor sf{1, denom};
  int w = TJSCALED(width, sf), hgt = TJSCALED(height, sf);
  Napi::Uint8Array out = output(info, 2, static_cast<size_t>(w) * hgt * 3);
  if (tjDecompress2(h, bytes.Data(), bytes.ByteLength(), out.Data(), w, 0, hgt, TJPF_RGB, TJFLAG_STOPONWARNING) != 0) {
    throw Napi::Error::New(env, tjGetErrorStr2(h));
  }
  return image(env, w, hgt, 3, out);
}

// decodePng(bytes, into?) -> { width, height, channels: 4, data }: 8-bit RGBA whatever the stored depth,
// palette or grey layout (16-bit samples scaled to the nearest 8-bit level by libpng).
Napi::Value DecodePng(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array bytes = bytesArg(info);
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&img, bytes.Data(), bytes.ByteLength())) {
    std::string msg = img.message;
    png_image_free(&img);
    throw Napi::Error::New(env, msg);
  }
  img.format = PNG_FORMAT_RGBA;
  // 16-bit samples are plain levels (as Pillow and the video tools treat them), not linear light
  img.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
  Napi::Uint8Array out = output(info, 1, PNG_IMAGE_SIZE(img));
  if (!png_image_finish_read(&img, nullptr, out.Data(), 0, nullptr)) {
    std::string msg = img.message;
    png_image_free(&img);
    throw Napi::Error::New(env, msg);
  }
  return image(env, static_cast<int>(img.width), static_cast<int>(img.height), 4, out);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("jpegHeader", Napi::Function::New(env, JpegHeader));
  exports.Set("decodeJpeg", Napi::Function::New(env, DecodeJpeg));
  exports.Set("decodePng", Napi::Function::New(env, DecodePng));
  return exports;
}

}  // namespace

NODE_API_MODULE(mmgap_image, Init)
