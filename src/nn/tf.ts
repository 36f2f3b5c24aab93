// The one module that imports tfjs: core, layers (for CGLayer; its bundle also registers every
// gradient) and the cpu backend, instead of the @tensorflow/tfjs umbrella and the webgl backend,
// converter and tf.data it pulls in.
import "@tensorflow/tfjs-backend-cpu";

export * from "@tensorflow/tfjs-core";
export * from "@tensorflow/tfjs-layers";
