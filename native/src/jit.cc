// TorchScript modules for mmgap: a module saved by torch.jit.save is loaded here, its parameters
// and buffers cross to TypeScript as ordinary tensor handles (the same tensors, so mmgap's
// optimizers, DDP and checkpoints train and read them in place), and its forward runs in the
// JIT interpreter under the caller's grad, inference and autocast state. Which file, which input
// shape and what to do about a failure is worded in TypeScript (src/models/torchscript.ts).
#include "bridge.h"

#include <torch/script.h>

#include <sstream>
#include <string>
#include <vector>

namespace mmgap {
namespace {

const napi_type_tag kJitTag = {0x6d6d6761706a6974ULL, 0x746f72636873637aULL};

torch::jit::Module& moduleOf(Napi::Env env, const Napi::Value& v) {
  bool ok = false;
  if (v.IsExternal()) napi_check_object_type_tag(env, v, &kJitTag, &ok);
  if (!ok) throw Napi::TypeError::New(env, "expected a TorchScript module handle");
  return *v.As<Napi::External<torch::jit::Module>>().Data();
}

// jitLoad(path, device) -> module handle, every tensor of the archive (constants included) on `device`.
Napi::Value JitLoad(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) throw Napi::TypeError::New(env, "jitLoad(path, device)");
  const std::string path = info[0].As<Napi::String>();
  const c10::Device device(info[1].As<Napi::String>().Utf8Value());
  auto* m = new torch::jit::Module(torch::jit::load(path, device));
  auto ext = Napi::External<torch::jit::Module>::New(env, m, [](Napi::BasicEnv, torch::jit::Module* p) { delete p; });
  if (napi_type_tag_object(env, ext, &kJitTag) != napi_ok) throw Napi::Error::New(env, "mmgap: could not tag a TorchScript handle");
  return ext;
}

template <class List>
Napi::Array named(Napi::Env env, const List& list) {
  auto out = Napi::Array::New(env);
  uint32_t k = 0;
  for (const auto& nt : list) {
    auto pair = Napi::Array::New(env, 2);
    pair.Set(0u, Napi::String::New(env, nt.name));
    pair.Set(1u, wrapTensor(env, nt.value));
    out.Set(k++, pair);
  }
  return out;
}

// jitInfo(m) -> { parameters: [name, Tensor][], buffers: [name, Tensor][], arity, required, training, forward }
// (arity: forward's arguments besides self, required: those without a default; forward: its
// schema, for error messages).
Napi::Value JitInfo(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& m = moduleOf(env, info[0]);
  auto fwd = m.find_method("forward");
  if (!fwd) throw Napi::Error::New(env, "the module has no forward method");
  const auto& schema = fwd->function().getSchema();
  auto out = Napi::Object::New(env);
  out.Set("parameters", named(env, m.named_parameters(true)));
  out.Set("buffers", named(env, m.named_buffers(true)));
  const auto& args = schema.arguments();
  double required = 0;
  for (size_t i = 1; i < args.size(); i++) required += args[i].default_value() ? 0 : 1;
  out.Set("arity", Napi::Number::New(env, static_cast<double>(args.size()) - 1));
  out.Set("required", Napi::Number::New(env, required));
  out.Set("training", Napi::Boolean::New(env, m.is_training()));
  std::ostringstream os;
  os << schema;
  out.Set("forward", Napi::String::New(env, os.str()));
  return out;
}

// jitSetTensor(m, dottedName, tensor, isBuffer): puts a tensor moved or replaced in TypeScript
// (Module.to) back into the module, so that forward uses it.
Napi::Value JitSetTensor(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& m = moduleOf(env, info[0]);
  if (!info[1].IsString()) throw Napi::TypeError::New(env, "jitSetTensor(m, name, tensor, isBuffer)");
  const std::string name = info[1].As<Napi::String>();
  const auto& t = tensorOf(env, info[2], "jitSetTensor");
  const bool isBuffer = info[3].ToBoolean();
  torch::jit::Module owner = m;
  std::string leaf = name;
  for (auto dot = leaf.find('.'); dot != std::string::npos; dot = leaf.find('.')) {
    owner = owner.attr(leaf.substr(0, dot)).toModule();
    leaf = leaf.substr(dot + 1);
  }
  if (isBuffer) owner.register_buffer(leaf, t);
  else owner.register_parameter(leaf, t, false);
  return env.Undefined();
}

Napi::Value JitTrain(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& m = moduleOf(env, info[0]);
  m.train(info[1].ToBoolean());
  return env.Undefined();
}

// jitForward(m, inputs[]) -> the output, which must be one tensor.
Napi::Value JitForward(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& m = moduleOf(env, info[0]);
  if (!info[1].IsArray()) throw Napi::TypeError::New(env, "jitForward(m, inputs[])");
  auto a = info[1].As<Napi::Array>();
  std::vector<c10::IValue> args;
  for (uint32_t i = 0; i < a.Length(); i++) args.emplace_back(tensorOf(env, a.Get(i), "jitForward input"));
  auto out = m.forward(std::move(args));
  if (!out.isTensor()) throw Napi::TypeError::New(env, "forward returned a " + out.tagKind() + ", not one Tensor");
  return wrapTensor(env, out.toTensor());
}

// jitSave(m, path): the module with its current weights, as torch.jit.save writes it.
Napi::Value JitSave(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& m = moduleOf(env, info[0]);
  if (!info[1].IsString()) throw Napi::TypeError::New(env, "jitSave(m, path)");
  const std::string path = info[1].As<Napi::String>();
  m.save(path);
  return env.Undefined();
}

}  // namespace

void registerJit(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Export> fns[] = {
    {"jitLoad", JitLoad},
    {"jitInfo", JitInfo},
    {"jitSetTensor", JitSetTensor},
    {"jitTrain", JitTrain},
    {"jitForward", JitForward},
    {"jitSave", JitSave},
  };
  for (const auto& [name, fn] : fns) exportGuarded(env, exports, name, fn);
}

}  // namespace mmgap
