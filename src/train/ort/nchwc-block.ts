// The NCHWc block size of this CPU's onnxruntime kernels (16 with AVX-512, 8 with AVX2), found
// once per process by running its ReorderInput on 4 channels, which pads them to one block. The
// probe runs in engine.ts (the training module that imports onnxruntime, which the step's
// engine needs it in too); this module keeps the distillation's import path.
export { nchwcBlockSize } from "./engine.js";
