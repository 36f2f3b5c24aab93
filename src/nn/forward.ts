// Runs a ModelSpec in tfjs from a flat map of named parameters: the one forward pass that
// training, evaluation and the ONNX parity tests use.

import { cgForward } from "./cg.js";
import { type LayerSpec, type ModelSpec, windowGeometry } from "./spec.js";
import { monomialFeatures } from "./taylor-direct.js";
import * as tf from "./tf.js";

export type ParamTensors = Record<string, tf.Tensor>;

export interface ForwardOptions {
  training: boolean;
  /** Filled in training mode: each batch-norm layer's batch mean and variance, by path. */
  batchStats?: Record<string, { mean: tf.Tensor; variance: tf.Tensor }>;
}

function param(params: ParamTensors, name: string): tf.Tensor {
  const t = params[name];
  if (!t) throw new Error(`missing parameter ${name}`);
  return t;
}

function conv2d(
  x: tf.Tensor4D,
  layer: Extract<LayerSpec, { kind: "conv2d" }>,
  params: ParamTensors,
  path: string,
): tf.Tensor4D {
  const {
    s,
    d,
    pads: [t, l, b, r],
  } = windowGeometry(layer, x.shape[1], x.shape[2]);
  const pad: "valid" | [[number, number], [number, number], [number, number], [number, number]] =
    t + b + l + r > 0
      ? [
          [0, 0],
          [t, b],
          [l, r],
          [0, 0],
        ]
      : "valid";
  const kernel = param(params, `${path}.kernel`) as tf.Tensor4D;
  let y = tf.conv2d(x, kernel, s, pad, "NHWC", d);
  if (layer.bias ?? true) y = tf.add(y, param(params, `${path}.bias`));
  return y;
}

function batchNorm(
  x: tf.Tensor,
  layer: Extract<LayerSpec, { kind: "batchNorm" }>,
  params: ParamTensors,
  path: string,
  options: ForwardOptions,
): tf.Tensor {
  const eps = layer.epsilon ?? 1e-5;
  const gamma = param(params, `${path}.gamma`);
  const beta = param(params, `${path}.beta`);
  let mean: tf.Tensor;
  let variance: tf.Tensor;
  if (options.training) {
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    ({ mean, variance } = tf.moments(x, axes));
    if (options.batchStats) options.batchStats[path] = { mean, variance };
  } else {
    mean = param(params, `${path}.movingMean`);
    variance = param(params, `${path}.movingVariance`);
  }
  const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, eps)));
  return tf.add(tf.mul(tf.sub(x, mean), scale), beta);
}

function instanceNorm(
  x: tf.Tensor4D,
  layer: Extract<LayerSpec, { kind: "instanceNorm" }>,
  params: ParamTensors,
  path: string,
): tf.Tensor {
  const eps = layer.epsilon ?? 1e-5;
  const { mean, variance } = tf.moments(x, [1, 2], true);
  let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  if (layer.affine) {
    y = tf.add(tf.mul(y, param(params, `${path}.gamma`)), param(params, `${path}.beta`));
  }
  return y;
}

function runLayers(
  layers: LayerSpec[],
  input: tf.Tensor,
  params: ParamTensors,
  options: ForwardOptions,
  prefix = "",
): tf.Tensor {
  let x = input;
  layers.forEach((layer, i) => {
    const path = prefix ? `${prefix}.${i}` : `${i}`;
    switch (layer.kind) {
      case "conv2d":
        x = conv2d(x as tf.Tensor4D, layer, params, path);
        break;
      case "cg":
        x = cgForward(
          x as tf.Tensor4D,
          layer,
          param(params, `${path}.kernel`),
          (layer.bias ?? true) ? param(params, `${path}.bias`) : undefined,
        );
        break;
      case "batchNorm":
        x = batchNorm(x, layer, params, path, options);
        break;
      case "instanceNorm":
        x = instanceNorm(x as tf.Tensor4D, layer, params, path);
        break;
      case "relu":
        x = tf.relu(x);
        break;
      case "avgPool": {
        const stride = layer.stride ?? layer.size;
        x = tf.avgPool(x as tf.Tensor4D, layer.size, stride, "valid");
        break;
      }
      case "globalAvgPool":
        x = tf.mean(x, [1, 2]);
        break;
      case "flatten":
        x = tf.reshape(x, [x.shape[0], -1]);
        break;
      case "dense": {
        let y = tf.matMul(x as tf.Tensor2D, param(params, `${path}.kernel`) as tf.Tensor2D);
        if (layer.bias ?? true) y = tf.add(y, param(params, `${path}.bias`));
        x = y;
        break;
      }
      case "monomials":
        x = monomialFeatures(tf.reshape(x, [x.shape[0], -1]) as tf.Tensor2D, layer.order);
        break;
      case "residual": {
        const body = runLayers(layer.body, x, params, options, `${path}.body`);
        const shortcut = runLayers(layer.shortcut, x, params, options, `${path}.shortcut`);
        x = tf.add(body, shortcut);
        break;
      }
      case "normalize":
        x = tf.div(tf.sub(x, tf.tensor1d(layer.mean)), tf.tensor1d(layer.std));
        break;
      case "l2normalize":
        x = tf.div(x, tf.maximum(tf.norm(x, "euclidean", -1, true), 1e-12));
        break;
    }
  });
  return x;
}

/** The model's output (logits or embedding) for an NHWC batch. Call inside tf.tidy. */
export function forward(
  spec: ModelSpec,
  params: ParamTensors,
  x: tf.Tensor,
  options: ForwardOptions = { training: false },
): tf.Tensor {
  return runLayers(spec.layers, x, params, options);
}
