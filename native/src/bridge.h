// What addon.cc shares with the addon's other source files: tensor handles, error wording and
// the guarded export, so every file speaks to JavaScript the same way.
#pragma once

#include <napi.h>

#include <ATen/ATen.h>

#include <string>

namespace mmgap {

using Export = Napi::Value (*)(const Napi::CallbackInfo&);

// The tensor behind a handle, or a TypeError that names `what`.
const at::Tensor& tensorOf(Napi::Env env, const Napi::Value& v, const std::string& what);
// A new JS handle owning `t`.
Napi::Value wrapTensor(Napi::Env env, at::Tensor t);
// "Tensor[2, 3] float32" and friends, for error messages.
std::string shapeStr(const at::Tensor& t);
std::string describe(Napi::Env env, const Napi::Value& v);
// Exports `fn` as `name`, turning every C++ exception into a JS error naming the function.
void exportGuarded(Napi::Env env, Napi::Object exports, const char* name, Export fn);

// dist.cc: process groups, collectives and DDP's reducer.
void registerDistributed(Napi::Env env, Napi::Object exports);
// cpu_allocator.cc: installs the caching CPU allocator (unless MMGAP_MALLOC=system) and exports
// cpuAllocator ("caching" | "system"), memoryStats, emptyCache, resetPeakStats, setMemoryLimit.
void registerCpuAllocator(Napi::Env env, Napi::Object exports);
// jit.cc: TorchScript modules (torch::jit::load, forward, save).
void registerJit(Napi::Env env, Napi::Object exports);

}  // namespace mmgap
