{
  "targets": [{
    "target_name": "mmgap_image",
    "sources": ["image.cc"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL"],
    "cflags_cc!": ["-fno-exceptions", "-O2"],
    # -ffp-contract=off: no fused multiply-adds, so renderFrame's sums round exactly as the
    # JavaScript recipe's did (and as on any other compiler or CPU)
    "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-ffp-contract=off"],
    "libraries": ["-lturbojpeg", "-lpng16"]
  }]
}
