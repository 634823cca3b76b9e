{
  "targets": [{
    "target_name": "mmgap_native",
    "sources": ["src/addon.cc", "src/dist.cc", "src/cpu_allocator.cc", "src/jit.cc"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "<!@(node libtorch.cjs include)", "compat"],
    "defines": ["NAPI_EXPERIMENTAL", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL", "<!@(node libtorch.cjs defines)"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
    "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
    "libraries": [
      "-L<!(node libtorch.cjs libdir)",
      "-Wl,-rpath,<!(node libtorch.cjs libdir)",
      "-Wl,--no-as-needed",
      "<!@(node libtorch.cjs libs)"
    ]
  }]
}
