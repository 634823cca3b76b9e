// mmgap's bridge to libtorch. Deliberately thin: tensors cross as tagged externals, and every
// operator is reached through the boxed dispatcher by schema name, so autograd works for all of
// them and the TypeScript side owns the API. Every libtorch error becomes a JS exception naming
// the operator and its arguments; nothing here may abort the process.
#include <napi.h>

#include "bridge.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/cuda.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <cstdlib>
#include <climits>
#include <dlfcn.h>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

// libtorch 1.x has its own c10::optional; 2.x makes it std::optional and later drops the alias.
#if TORCH_VERSION_MAJOR >= 2
template <class T>
using Optional = std::optional<T>;
#else
template <class T>
using Optional = c10::optional<T>;
#endif

const std::string kTorchVersion = TORCH_VERSION;

// Identifies externals created here, so a stray JS value can never be cast to a tensor.
const napi_type_tag kTensorTag = {0x6d6d676170746e73ULL, 0x2d6c6962746f7263ULL};

std::atomic<int64_t> gLiveTensors{0};
// Whether new tensors report their bytes to V8. Off inside tidy scopes: those tensors are freed
// deterministically, and reporting gigabytes of short-lived activations makes V8 run a full GC
// every few operators. Tensors that escape the outermost scope are reported then (Account).
bool gAccountNew = true;

struct TensorBox {
  at::Tensor t;
  int64_t accounted = 0;  // bytes reported to V8 via AdjustExternalMemory
};

struct AddonData {
  std::vector<c10::OperatorHandle> ops;
  std::unordered_map<std::string, uint32_t> opIds;
};

int64_t tensorBytes(const at::Tensor& t) {
  return t.defined() ? static_cast<int64_t>(t.numel()) * static_cast<int64_t>(t.element_size()) : 0;
}

void releaseBox(Napi::BasicEnv env, TensorBox* box) {
  if (box->t.defined()) gLiveTensors--;
  if (box->accounted != 0) {
    Napi::MemoryManagement::AdjustExternalMemory(env, -box->accounted);
    box->accounted = 0;
  }
  box->t.reset();
}

Napi::Value wrapTensor(Napi::Env env, at::Tensor t) {
  if (!t.defined()) return env.Null();
  auto* box = new TensorBox{std::move(t), 0};
  if (gAccountNew) {
    box->accounted = tensorBytes(box->t);
    if (box->accounted != 0) Napi::MemoryManagement::AdjustExternalMemory(env, box->accounted);
  }
  gLiveTensors++;
  // A basic finalizer (no JS allowed) runs during GC itself, not on a later turn of the event
  // loop, so a synchronous training loop frees its handles as it goes.
  auto ext = Napi::External<TensorBox>::New(env, box, [](Napi::BasicEnv e, TensorBox* b) {
    releaseBox(e, b);
    delete b;
  });
  napi_status s = napi_type_tag_object(env, ext, &kTensorTag);
  if (s != napi_ok) throw Napi::Error::New(env, "mmgap: could not tag tensor handle");
  return ext;
}

bool isTensorHandle(Napi::Env env, const Napi::Value& v) {
  if (!v.IsExternal()) return false;
  bool ok = false;
  napi_check_object_type_tag(env, v, &kTensorTag, &ok);
  return ok;
}

// Returns the box, or throws a TypeError that says what `what` was instead.
TensorBox* boxOf(Napi::Env env, const Napi::Value& v, const std::string& what) {
  if (!isTensorHandle(env, v)) throw Napi::TypeError::New(env, what + ": expected a Tensor");
  auto* box = v.As<Napi::External<TensorBox>>().Data();
  if (!box->t.defined()) throw Napi::Error::New(env, what + ": tensor was used after dispose()");
  return box;
}

const at::Tensor& tensorOf(Napi::Env env, const Napi::Value& v, const std::string& what) {
  return boxOf(env, v, what)->t;
}

// dtype names as the TypeScript side spells them
const char* dtypeStr(at::ScalarType st) {
  switch (st) {
    case at::kByte: return "uint8";
    case at::kChar: return "int8";
    case at::kShort: return "int16";
    case at::kInt: return "int32";
    case at::kLong: return "int64";
    case at::kHalf: return "float16";
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kComplexFloat: return "complex64";
    case at::kComplexDouble: return "complex128";
    case at::kBool: return "bool";
    case at::kBFloat16: return "bfloat16";
    default: return c10::toString(st);
  }
}

std::string shapeStr(const at::Tensor& t) {
  std::ostringstream os;
  os << "Tensor[";
  for (int64_t i = 0; i < t.dim(); i++) os << (i ? ", " : "") << t.size(i);
  os << "] " << dtypeStr(t.scalar_type());
  if (!t.device().is_cpu()) os << " " << t.device();
  return os.str();
}

// A short description of a JS argument for error messages.
std::string describe(Napi::Env env, const Napi::Value& v, int depth = 0) {
  if (isTensorHandle(env, v)) {
    auto* box = v.As<Napi::External<TensorBox>>().Data();
    return box->t.defined() ? shapeStr(box->t) : "Tensor(disposed)";
  }
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsNumber()) {
    std::ostringstream os;
    os << v.As<Napi::Number>().DoubleValue();
    return os.str();
  }
  if (v.IsString()) return "\"" + v.As<Napi::String>().Utf8Value() + "\"";
  if (v.IsArray()) {
    auto a = v.As<Napi::Array>();
    std::string s = "[";
    uint32_t n = a.Length();
    for (uint32_t i = 0; i < n && i < 6; i++) s += (i ? ", " : "") + (depth < 2 ? describe(env, a.Get(i), depth + 1) : "...");
    if (n > 6) s += ", ...";
    return s + "]";
  }
  return "object";
}

[[noreturn]] void badArg(Napi::Env env, const c10::Argument& arg, const Napi::Value& v, const std::string& expected) {
  throw Napi::TypeError::New(env, "argument '" + arg.name() + "' must be " + expected + ", got " + describe(env, v));
}

int64_t toInt(Napi::Env env, const c10::Argument& arg, const Napi::Value& v) {
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) <= 9007199254740991.0) return static_cast<int64_t>(d);
  }
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1 : 0;
  badArg(env, arg, v, "an integer");
}

c10::IValue toIValue(Napi::Env env, const c10::Argument& arg, const c10::TypePtr& type, const Napi::Value& v);

c10::IValue toList(Napi::Env env, const c10::Argument& arg, const c10::ListType& list, const Napi::Value& v) {
  const auto& elem = list.getElementType();
  const auto kind = elem->kind();
  // Python lets `int[2] stride=1` take a single int; so do we.
  if (!v.IsArray()) {
    if ((kind == c10::TypeKind::IntType || kind == c10::TypeKind::SymIntType) && v.IsNumber()) {
      size_t n = arg.N() ? *arg.N() : 1;
      return c10::List<int64_t>(std::vector<int64_t>(n, toInt(env, arg, v)));
    }
    badArg(env, arg, v, "an array (" + list.annotation_str() + ")");
  }
  auto a = v.As<Napi::Array>();
  const uint32_t n = a.Length();
  switch (kind) {
    case c10::TypeKind::TensorType: {
      c10::List<at::Tensor> out;
      out.reserve(n);
      for (uint32_t i = 0; i < n; i++) out.push_back(tensorOf(env, a.Get(i), "argument '" + arg.name() + "'[" + std::to_string(i) + "]"));
      return out;
    }
    case c10::TypeKind::OptionalType: {
      c10::List<Optional<at::Tensor>> out;
      out.reserve(n);
      for (uint32_t i = 0; i < n; i++) {
        auto e = a.Get(i);
        if (e.IsNull() || e.IsUndefined()) out.push_back(Optional<at::Tensor>());
        else out.push_back(tensorOf(env, e, "argument '" + arg.name() + "'[" + std::to_string(i) + "]"));
      }
      return out;
    }
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType: {
      std::vector<int64_t> out(n);
      for (uint32_t i = 0; i < n; i++) out[i] = toInt(env, arg, a.Get(i));
      return c10::List<int64_t>(std::move(out));
    }
    case c10::TypeKind::FloatType: {
      std::vector<double> out(n);
      for (uint32_t i = 0; i < n; i++) {
        auto e = a.Get(i);
        if (!e.IsNumber()) badArg(env, arg, v, "an array of numbers");
        out[i] = e.As<Napi::Number>().DoubleValue();
      }
      return c10::List<double>(std::move(out));
    }
    case c10::TypeKind::BoolType: {
      c10::List<bool> out;
      for (uint32_t i = 0; i < n; i++) {
        auto e = a.Get(i);
        if (!e.IsBoolean()) badArg(env, arg, v, "an array of booleans");
        out.push_back(e.As<Napi::Boolean>().Value());
      }
      return out;
    }
    default:
      badArg(env, arg, v, "a supported list type (" + list.annotation_str() + " is not supported)");
  }
}

c10::IValue toIValue(Napi::Env env, const c10::Argument& arg, const c10::TypePtr& type, const Napi::Value& v) {
  switch (type->kind()) {
    case c10::TypeKind::TensorType:
      return tensorOf(env, v, "argument '" + arg.name() + "'");
    case c10::TypeKind::OptionalType:
      if (v.IsNull() || v.IsUndefined()) return c10::IValue();
      return toIValue(env, arg, type->castRaw<c10::OptionalType>()->getElementType(), v);
    case c10::TypeKind::ListType:
      return toList(env, arg, *type->castRaw<c10::ListType>(), v);
    case c10::TypeKind::IntType:
      return toInt(env, arg, v);
    case c10::TypeKind::SymIntType:
      return c10::SymInt(toInt(env, arg, v));
    case c10::TypeKind::FloatType:
      if (!v.IsNumber()) badArg(env, arg, v, "a number");
      return v.As<Napi::Number>().DoubleValue();
    case c10::TypeKind::NumberType: {  // Scalar: integral JS numbers stay integers, as in Python.
      if (v.IsBoolean()) return v.As<Napi::Boolean>().Value();
      if (!v.IsNumber()) badArg(env, arg, v, "a number");
      double d = v.As<Napi::Number>().DoubleValue();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) <= 9007199254740991.0) return static_cast<int64_t>(d);
      return d;
    }
    case c10::TypeKind::BoolType:
      if (!v.IsBoolean()) badArg(env, arg, v, "a boolean");
      return v.As<Napi::Boolean>().Value();
    case c10::TypeKind::StringType:
      if (!v.IsString()) badArg(env, arg, v, "a string");
      return v.As<Napi::String>().Utf8Value();
    case c10::TypeKind::DeviceObjType:
      if (!v.IsString()) badArg(env, arg, v, "a device string such as 'cpu' or 'cuda:0'");
      return c10::Device(v.As<Napi::String>().Utf8Value());
    default:
      badArg(env, arg, v, "a supported type (" + type->annotation_str() + " is not supported by mmgap)");
  }
}

Napi::Value fromIValue(Napi::Env env, const c10::IValue& v) {
  if (v.isTensor()) return wrapTensor(env, v.toTensor());
  if (v.isNone()) return env.Null();
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isSymInt()) return Napi::Number::New(env, static_cast<double>(v.toSymInt().expect_int()));
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  if (v.isDevice()) return Napi::String::New(env, v.toDevice().str());
  if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    auto out = Napi::Array::New(env, elems.size());
    for (size_t i = 0; i < elems.size(); i++) out.Set(static_cast<uint32_t>(i), fromIValue(env, elems[i]));
    return out;
  }
  if (v.isList()) {
    auto list = v.toListRef();
    auto out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(static_cast<uint32_t>(i), fromIValue(env, list[i]));
    return out;
  }
  throw Napi::TypeError::New(env, "mmgap cannot return a value of type " + v.tagKind());
}

// Names an operator and its arguments for an error raised while calling it.
std::string callSite(Napi::Env env, const c10::FunctionSchema& schema, const Napi::Array& args) {
  std::string s = schema.name();
  if (!schema.overload_name().empty()) s += "." + schema.overload_name();
  s += "(";
  const auto& formal = schema.arguments();
  for (uint32_t i = 0; i < args.Length() && i < formal.size(); i++) {
    auto a = args.Get(i);
    if (a.IsUndefined()) continue;
    s += (s.back() == '(' ? "" : ", ") + formal[i].name() + "=" + describe(env, a);
  }
  return s + ")";
}

std::string firstLines(const char* what) {
  // c10 messages end with a C++ backtrace that helps nobody in JS.
  std::string m(what);
  auto pos = m.find("\nException raised from");
  if (pos != std::string::npos) m.resize(pos);
  return m;
}

// A libtorch error as a JS error "<where>: <message>". Running out of memory (the CPU allocator's
// limit, native/src/cpu_allocator.cc, or a device's) gets code ERR_MMGAP_OUT_OF_MEMORY, so callers
// can tell it from a bad argument and say which setting to change.
Napi::Error c10Error(Napi::Env env, const std::string& where, const c10::Error& e) {
  auto err = Napi::Error::New(env, where + ": " + firstLines(e.what_without_backtrace()));
  if (dynamic_cast<const c10::OutOfMemoryError*>(&e)) err.Set("code", Napi::String::New(env, "ERR_MMGAP_OUT_OF_MEMORY"));
  return err;
}

AddonData& data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

// opHandle(name, overload) -> id for callOp.
Napi::Value OpHandle(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) throw Napi::TypeError::New(env, "opHandle(name, overload)");
  std::string name = info[0].As<Napi::String>();
  std::string overload = info[1].As<Napi::String>();
  auto& d = data(env);
  const std::string key = name + "." + overload;
  auto it = d.opIds.find(key);
  if (it != d.opIds.end()) return Napi::Number::New(env, it->second);
  auto h = c10::Dispatcher::singleton().findOp(c10::OperatorName(name, overload));
  if (!h || !h->hasSchema()) {
    throw Napi::Error::New(env, "operator " + key + " is not in this libtorch (" + kTorchVersion + "); it may need a newer LIBTORCH");
  }
  d.ops.push_back(*h);
  uint32_t id = static_cast<uint32_t>(d.ops.size() - 1);
  d.opIds.emplace(key, id);
  return Napi::Number::New(env, id);
}

// callOp(id, args[]) -> result (Tensor handle, number, boolean, null, or arrays of these).
Napi::Value CallOp(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& d = data(env);
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsArray()) throw Napi::TypeError::New(env, "callOp(id, args[])");
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  if (id >= d.ops.size()) throw Napi::RangeError::New(env, "callOp: unknown operator id");
  const auto& op = d.ops[id];
  const auto& schema = op.schema();
  const auto& formal = schema.arguments();
  auto args = info[1].As<Napi::Array>();
  const uint32_t given = args.Length();
  if (given > formal.size()) {
    throw Napi::TypeError::New(env, callSite(env, schema, args) + ": takes at most " + std::to_string(formal.size()) + " arguments, got " + std::to_string(given));
  }
  torch::jit::Stack stack;
  stack.reserve(formal.size());
  try {
    for (uint32_t i = 0; i < formal.size(); i++) {
      const auto& arg = formal[i];
      Napi::Value v = i < given ? args.Get(i) : env.Undefined();
      if (v.IsUndefined()) {
        if (arg.default_value()) { stack.push_back(*arg.default_value()); continue; }
        if (arg.type()->kind() == c10::TypeKind::OptionalType) { stack.emplace_back(); continue; }
        throw Napi::TypeError::New(env, "missing argument '" + arg.name() + "' (" + arg.type()->annotation_str() + ")");
      }
      stack.push_back(toIValue(env, arg, arg.type(), v));
    }
  } catch (const Napi::Error& e) {
    throw Napi::TypeError::New(env, callSite(env, schema, args) + ": " + e.Message());
  }
  try {
    op.callBoxed(stack);
  } catch (const c10::Error& e) {
    throw c10Error(env, callSite(env, schema, args), e);
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, callSite(env, schema, args) + ": " + firstLines(e.what()));
  }
  if (stack.empty()) return env.Undefined();
  if (stack.size() == 1) return fromIValue(env, stack[0]);
  auto out = Napi::Array::New(env, stack.size());
  for (size_t i = 0; i < stack.size(); i++) out.Set(static_cast<uint32_t>(i), fromIValue(env, stack[i]));
  return out;
}

// listSchemas() -> [{ name, overload, args: [{ name, type, N, default, kwargOnly, mutable }], returns: [type] }]
Napi::Value ListSchemas(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& disp = c10::Dispatcher::singleton();
  auto names = disp.getAllOpNames();
  auto out = Napi::Array::New(env);
  uint32_t k = 0;
  for (const auto& n : names) {
    auto h = disp.findOp(n);
    if (!h || !h->hasSchema()) continue;
    const auto& s = h->schema();
    auto o = Napi::Object::New(env);
    o.Set("name", s.name());
    o.Set("overload", s.overload_name());
    auto args = Napi::Array::New(env, s.arguments().size());
    for (size_t i = 0; i < s.arguments().size(); i++) {
      const auto& a = s.arguments()[i];
      auto ao = Napi::Object::New(env);
      ao.Set("name", a.name());
      ao.Set("type", a.real_type()->annotation_str());
      if (a.N()) ao.Set("N", static_cast<double>(*a.N()));
      if (a.default_value()) {
        std::ostringstream os;
        os << *a.default_value();
        ao.Set("default", os.str());
      }
      ao.Set("kwargOnly", a.kwarg_only());
      ao.Set("mutable", a.alias_info() != nullptr && a.alias_info()->isWrite());
      args.Set(static_cast<uint32_t>(i), ao);
    }
    o.Set("args", args);
    auto rets = Napi::Array::New(env, s.returns().size());
    for (size_t i = 0; i < s.returns().size(); i++) rets.Set(static_cast<uint32_t>(i), s.returns()[i].real_type()->annotation_str());
    o.Set("returns", rets);
    out.Set(k++, o);
  }
  return out;
}

// ---- tensors ----

at::ScalarType scalarTypeFromCode(Napi::Env env, const Napi::Value& v) {
  int64_t code = v.IsNumber() ? v.As<Napi::Number>().Int64Value() : -1;
  if (code < 0 || code >= static_cast<int64_t>(at::ScalarType::NumOptions)) throw Napi::TypeError::New(env, "unknown dtype code " + describe(env, v));
  return static_cast<at::ScalarType>(code);
}

std::vector<int64_t> shapeFrom(Napi::Env env, const Napi::Value& v) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, "shape must be an array of non-negative integers");
  auto a = v.As<Napi::Array>();
  std::vector<int64_t> shape(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    auto e = a.Get(i);
    double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0 && d == std::floor(d))) throw Napi::TypeError::New(env, "shape must be an array of non-negative integers, got " + describe(env, v));
    shape[i] = static_cast<int64_t>(d);
  }
  return shape;
}

// fromBuffer(typedArray, shape, dtypeCode) -> a CPU tensor holding a copy of the bytes.
Napi::Value FromBuffer(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (info.Length() < 3 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "fromBuffer(typedArray, shape, dtype)");
  auto ta = info[0].As<Napi::TypedArray>();
  auto shape = shapeFrom(env, info[1]);
  auto st = scalarTypeFromCode(env, info[2]);
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(st));
  const size_t want = static_cast<size_t>(t.numel()) * t.element_size();
  if (ta.ByteLength() != want) {
    throw Napi::RangeError::New(env, "fromBuffer: " + std::to_string(ta.ByteLength()) + " bytes given for " + shapeStr(t) + " (" + std::to_string(want) + " bytes)");
  }
  if (want) std::memcpy(t.data_ptr(), static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset(), want);
  return wrapTensor(env, std::move(t));
}

// toBuffer(t) -> ArrayBuffer with the tensor's elements, contiguous, on the CPU.
Napi::Value ToBuffer(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const auto& t0 = tensorOf(env, info[0], "toBuffer");
  at::Tensor t;
  try {
    t = t0.detach().to(at::kCPU).contiguous();
  } catch (const c10::Error& e) {
    throw c10Error(env, "toBuffer(" + shapeStr(t0) + ")", e);
  }
  const size_t n = static_cast<size_t>(t.numel()) * t.element_size();
  auto buf = Napi::ArrayBuffer::New(env, n);
  if (n) std::memcpy(buf.Data(), t.data_ptr(), n);
  return buf;
}

// info(t) -> [shape, dtypeCode, device, requiresGrad]
Napi::Value Info(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const auto& t = tensorOf(env, info[0], "tensor info");
  auto shape = Napi::Array::New(env, t.dim());
  for (int64_t i = 0; i < t.dim(); i++) shape.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(t.size(i))));
  auto out = Napi::Array::New(env, 4);
  out.Set(0u, shape);
  out.Set(1u, Napi::Number::New(env, static_cast<int>(t.scalar_type())));
  out.Set(2u, Napi::String::New(env, t.device().str()));
  out.Set(3u, Napi::Boolean::New(env, t.requires_grad()));
  return out;
}

Napi::Value Dispose(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (!isTensorHandle(env, info[0])) throw Napi::TypeError::New(env, "dispose: expected a Tensor");
  releaseBox(env, info[0].As<Napi::External<TensorBox>>().Data());
  return env.Undefined();
}

Napi::Value IsDisposed(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (!isTensorHandle(env, info[0])) throw Napi::TypeError::New(env, "isDisposed: expected a Tensor");
  return Napi::Boolean::New(env, !info[0].As<Napi::External<TensorBox>>().Data()->t.defined());
}

Napi::Value SetAccounting(const Napi::CallbackInfo& info) {
  gAccountNew = info[0].ToBoolean();
  return info.Env().Undefined();
}

// account(t): reports a tensor made while accounting was off (it outlived its scope).
Napi::Value Account(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (!isTensorHandle(env, info[0])) throw Napi::TypeError::New(env, "account: expected a Tensor");
  auto* box = info[0].As<Napi::External<TensorBox>>().Data();
  if (box->t.defined() && box->accounted == 0) {
    box->accounted = tensorBytes(box->t);
    if (box->accounted != 0) Napi::MemoryManagement::AdjustExternalMemory(env, box->accounted);
  }
  return env.Undefined();
}

Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const auto& t = tensorOf(env, info[0], "requiresGrad");
  try {
    t.set_requires_grad(info[1].ToBoolean());
  } catch (const c10::Error& e) {
    throw c10Error(env, "requiresGrad(" + shapeStr(t) + ")", e);
  }
  return env.Undefined();
}

Napi::Value Grad(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  return wrapTensor(env, tensorOf(env, info[0], "grad").grad());
}

// setGrad(t, g | null): null clears the gradient (as PyTorch's zero_grad(set_to_none=True)).
Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const auto& t = tensorOf(env, info[0], "setGrad");
  if (info[1].IsNull() || info[1].IsUndefined()) {
    t.mutable_grad().reset();
  } else {
    const auto& g = tensorOf(env, info[1], "setGrad gradient");
    if (g.sizes() != t.sizes() || g.scalar_type() != t.scalar_type() || g.device() != t.device()) {
      throw Napi::Error::New(env, "setGrad: gradient " + shapeStr(g) + " does not match " + shapeStr(t));
    }
    t.mutable_grad() = g;
  }
  return env.Undefined();
}

Napi::Value IsLeaf(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  return Napi::Boolean::New(env, tensorOf(env, info[0], "isLeaf").is_leaf());
}

std::vector<at::Tensor> tensorArray(Napi::Env env, const Napi::Value& v, const std::string& what) {
  std::vector<at::Tensor> out;
  if (v.IsNull() || v.IsUndefined()) return out;
  if (!v.IsArray()) throw Napi::TypeError::New(env, what + ": expected an array of tensors");
  auto a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    auto e = a.Get(i);
    out.push_back(e.IsNull() || e.IsUndefined() ? at::Tensor() : tensorOf(env, e, what + "[" + std::to_string(i) + "]"));
  }
  return out;
}

// backward(outputs[], gradOutputs[] | null, retainGraph, createGraph)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto outputs = tensorArray(env, info[0], "backward outputs");
  auto grads = tensorArray(env, info[1], "backward gradients");
  bool retain = info[2].ToBoolean(), create = info[3].ToBoolean();
  try {
    torch::autograd::backward(outputs, grads, retain ? Optional<bool>(true) : Optional<bool>(), create);
  } catch (const c10::Error& e) {
    std::string s = outputs.empty() ? "" : shapeStr(outputs[0]);
    throw c10Error(env, "backward(" + s + ")", e);
  }
  return env.Undefined();
}

// grad(outputs[], inputs[], gradOutputs[] | null, retainGraph, createGraph, allowUnused) -> (Tensor | null)[]
Napi::Value AutogradGrad(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto outputs = tensorArray(env, info[0], "grad outputs");
  auto inputs = tensorArray(env, info[1], "grad inputs");
  auto grads = tensorArray(env, info[2], "grad gradients");
  bool retain = info[3].ToBoolean(), create = info[4].ToBoolean(), allowUnused = info[5].ToBoolean();
  std::vector<at::Tensor> res;
  try {
    res = torch::autograd::grad(outputs, inputs, grads, retain ? Optional<bool>(true) : Optional<bool>(), create, allowUnused);
  } catch (const c10::Error& e) {
    throw c10Error(env, "grad()", e);
  }
  auto out = Napi::Array::New(env, res.size());
  for (size_t i = 0; i < res.size(); i++) out.Set(static_cast<uint32_t>(i), wrapTensor(env, res[i]));
  return out;
}

// ---- global state ----

Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  c10::GradMode::set_enabled(info[0].ToBoolean());
  return info.Env().Undefined();
}

Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled()); }

// Inference mode is an RAII guard in libtorch (it saves and restores the autograd state and the
// dispatch keys); entering pushes one, exiting pops the last, so regions nest as in C++.
std::vector<std::unique_ptr<c10::InferenceMode>> gInferenceGuards;

Napi::Value EnterInferenceMode(const Napi::CallbackInfo& info) {
  gInferenceGuards.push_back(std::make_unique<c10::InferenceMode>(true));
  return info.Env().Undefined();
}

Napi::Value ExitInferenceMode(const Napi::CallbackInfo& info) {
  if (gInferenceGuards.empty()) throw Napi::Error::New(info.Env(), "exitInferenceMode: no inference-mode region is open");
  gInferenceGuards.pop_back();
  return info.Env().Undefined();
}

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "manualSeed(seed: number)");
  torch::manual_seed(static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value()));
  return env.Undefined();
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  int n = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  if (n < 1) throw Napi::RangeError::New(env, "setNumThreads: expected a positive integer, got " + describe(env, info[0]));
  at::set_num_threads(n);
  return env.Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), at::get_num_threads()); }

Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), torch::cuda::is_available() ? static_cast<double>(torch::cuda::device_count()) : 0);
}

// ---- autocast: libtorch's thread-local state, one primitive each; torch.autocast's enter/exit
// logic (saving, nesting, clearing the cast cache) lives in src/torch/amp.ts. ----

bool isCudaName(Napi::Env env, const Napi::Value& v) {
  std::string d = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (d != "cpu" && d != "cuda") throw Napi::TypeError::New(env, "autocast device type must be \"cpu\" or \"cuda\", got " + describe(env, v));
  return d == "cuda";
}

// libtorch 2.4 replaced the per-device functions with ones that take the device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define MMGAP_AUTOCAST_BY_DEVICE 1
#endif

// getAutocast(deviceType) -> [enabled, dtypeCode]
Napi::Value GetAutocast(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  bool cuda = isCudaName(env, info[0]);
  auto out = Napi::Array::New(env, 2);
#ifdef MMGAP_AUTOCAST_BY_DEVICE
  auto dt = cuda ? at::kCUDA : at::kCPU;
  out.Set(0u, Napi::Boolean::New(env, at::autocast::is_autocast_enabled(dt)));
  out.Set(1u, Napi::Number::New(env, static_cast<int>(at::autocast::get_autocast_dtype(dt))));
#else
  out.Set(0u, Napi::Boolean::New(env, cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled()));
  out.Set(1u, Napi::Number::New(env, static_cast<int>(cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype())));
#endif
  return out;
}

// setAutocast(deviceType, enabled, dtypeCode)
Napi::Value SetAutocast(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  bool cuda = isCudaName(env, info[0]);
  bool on = info[1].ToBoolean();
  auto st = scalarTypeFromCode(env, info[2]);
#ifdef MMGAP_AUTOCAST_BY_DEVICE
  auto dt = cuda ? at::kCUDA : at::kCPU;
  at::autocast::set_autocast_dtype(dt, st);
  at::autocast::set_autocast_enabled(dt, on);
#else
  if (cuda) {
    at::autocast::set_autocast_gpu_dtype(st);
    at::autocast::set_enabled(on);
  } else {
    at::autocast::set_autocast_cpu_dtype(st);
    at::autocast::set_cpu_enabled(on);
  }
#endif
  return env.Undefined();
}

// autocastNesting(+1 | -1) -> the nesting depth after the change
Napi::Value AutocastNesting(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  int delta = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  if (delta != 1 && delta != -1) throw Napi::RangeError::New(env, "autocastNesting: expected +1 or -1, got " + describe(env, info[0]));
  return Napi::Number::New(env, delta > 0 ? at::autocast::increment_nesting() : at::autocast::decrement_nesting());
}

Napi::Value AutocastCacheEnabled(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), at::autocast::is_autocast_cache_enabled()); }

Napi::Value SetAutocastCacheEnabled(const Napi::CallbackInfo& info) {
  at::autocast::set_autocast_cache_enabled(info[0].ToBoolean());
  return info.Env().Undefined();
}

Napi::Value ClearAutocastCache(const Napi::CallbackInfo& info) {
  at::autocast::clear_cache();
  return info.Env().Undefined();
}

// cudaCapability(index) -> [major, minor], or null without a CUDA driver. Asks the driver
// (libcuda.so.1, whose name is stable) rather than libtorch's CUDA headers, which a CPU-only
// libtorch does not ship: it decides whether a GPU has bfloat16 (compute capability >= 8).
Napi::Value CudaCapability(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  int index = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : -1;
  if (index < 0) throw Napi::RangeError::New(env, "cudaCapability: expected a device index, got " + describe(env, info[0]));
  static void* lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (!lib) return env.Null();
  using InitFn = int (*)(unsigned);
  using DeviceGetFn = int (*)(int*, int);
  using AttributeFn = int (*)(int*, int, int);
  auto init = reinterpret_cast<InitFn>(dlsym(lib, "cuInit"));
  auto deviceGet = reinterpret_cast<DeviceGetFn>(dlsym(lib, "cuDeviceGet"));
  auto attribute = reinterpret_cast<AttributeFn>(dlsym(lib, "cuDeviceGetAttribute"));
  const int kMajor = 75, kMinor = 76;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR / _MINOR
  int dev = 0, major = 0, minor = 0;
  if (!init || !deviceGet || !attribute || init(0) != 0 || deviceGet(&dev, index) != 0 ||
      attribute(&major, kMajor, dev) != 0 || attribute(&minor, kMinor, dev) != 0) {
    return env.Null();
  }
  auto out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, major));
  out.Set(1u, Napi::Number::New(env, minor));
  return out;
}

Napi::Value LiveTensors(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(gLiveTensors.load())); }

Napi::Value ParallelInfo(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), at::get_parallel_info()); }

// Every export runs inside one guard: a libtorch error (c10::Error) or any other C++ exception
// thrown outside a function's own try blocks (at::empty in fromBuffer, say) becomes a JS error
// naming the function instead of ending the process. (NODE_ADDON_API_CPP_EXCEPTIONS_ALL in
// binding.gyp is the backstop for anything thrown past it.)
using Export = Napi::Value (*)(const Napi::CallbackInfo&);

void exportGuarded(Napi::Env env, Napi::Object exports, const char* name, Export fn) {
  exports.Set(name, Napi::Function::New(env, [name, fn](const Napi::CallbackInfo& info) -> Napi::Value {
    try {
      return fn(info);
    } catch (const Napi::Error&) {
      throw;
    } catch (const c10::Error& e) {
      throw c10Error(info.Env(), std::string(name), e);
    } catch (const std::bad_alloc&) {
      throw Napi::Error::New(info.Env(), std::string(name) + ": out of memory");
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), std::string(name) + ": " + firstLines(e.what()));
    }
  }, name));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  exports.Set("torchVersion", Napi::String::New(env, kTorchVersion));
  const std::pair<const char*, Export> fns[] = {
    {"opHandle", OpHandle},
    {"callOp", CallOp},
    {"listSchemas", ListSchemas},
    {"fromBuffer", FromBuffer},
    {"toBuffer", ToBuffer},
    {"info", Info},
    {"dispose", Dispose},
    {"isDisposed", IsDisposed},
    {"setAccounting", SetAccounting},
    {"account", Account},
    {"setRequiresGrad", SetRequiresGrad},
    {"grad", Grad},
    {"setGrad", SetGrad},
    {"isLeaf", IsLeaf},
    {"backward", Backward},
    {"autogradGrad", AutogradGrad},
    {"setGradEnabled", SetGradEnabled},
    {"isGradEnabled", IsGradEnabled},
    {"enterInferenceMode", EnterInferenceMode},
    {"exitInferenceMode", ExitInferenceMode},
    {"manualSeed", ManualSeed},
    {"setNumThreads", SetNumThreads},
    {"getNumThreads", GetNumThreads},
    {"cudaDeviceCount", CudaDeviceCount},
    {"cudaCapability", CudaCapability},
    {"getAutocast", GetAutocast},
    {"setAutocast", SetAutocast},
    {"autocastNesting", AutocastNesting},
    {"autocastCacheEnabled", AutocastCacheEnabled},
    {"setAutocastCacheEnabled", SetAutocastCacheEnabled},
    {"clearAutocastCache", ClearAutocastCache},
    {"liveTensors", LiveTensors},
    {"parallelInfo", ParallelInfo},
  };
  for (const auto& [name, fn] : fns) exportGuarded(env, exports, name, fn);
  mmgap::registerDistributed(env, exports);
  mmgap::registerCpuAllocator(env, exports);
  mmgap::registerJit(env, exports);
  return exports;
}

}  // namespace

// bridge.h: this file's helpers, for the addon's other source files.
namespace mmgap {
const at::Tensor& tensorOf(Napi::Env env, const Napi::Value& v, const std::string& what) { return ::tensorOf(env, v, what); }
Napi::Value wrapTensor(Napi::Env env, at::Tensor t) { return ::wrapTensor(env, std::move(t)); }
std::string shapeStr(const at::Tensor& t) { return ::shapeStr(t); }
std::string describe(Napi::Env env, const Napi::Value& v) { return ::describe(env, v); }
void exportGuarded(Napi::Env env, Napi::Object exports, const char* name, Export fn) { ::exportGuarded(env, exports, name, fn); }
}  // namespace mmgap

NODE_API_MODULE(mmgap_native, Init)
