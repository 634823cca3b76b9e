// Debian's libtorch-dev ships c10d/reducer.hpp but not this header, which reducer.hpp includes
// for two names only: the gradient callback type it asserts against and the smart pointer type
// of one member (its layout does not depend on the pointee). Found only when the libtorch in use
// lacks the real header (binding.gyp searches it last); mmgap never uses distributed autograd.
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <memory>

namespace torch {
namespace distributed {
namespace autograd {

class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};

using ContextPtr = std::shared_ptr<DistAutogradContext>;

}  // namespace autograd
}  // namespace distributed
}  // namespace torch
