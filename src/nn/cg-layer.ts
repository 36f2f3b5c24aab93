// The CG operation as a serialisable tf.layers Layer ("CGLayer"), so a tf.Sequential that uses
// it can be saved and loaded through tf.io like any built-in layer.

import { cgForward } from "./cg.js";
import { type CgLayer, cgTerms, windowOutSize } from "./spec.js";
import * as tf from "./tf.js";

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

/** A CG layer spec's fields (without its kind) and tfjs's own layer arguments. */
export interface CGLayerArgs extends LayerArgs, Omit<CgLayer, "kind" | "bias"> {
  useBias?: boolean;
}

export class CGLayer extends tf.layers.Layer {
  static className = "CGLayer";
  readonly spec: CgLayer;
  private kernel?: tf.LayerVariable;
  private bias?: tf.LayerVariable;

  constructor(args: CGLayerArgs) {
    const { filters, kernel, order, stride, dilation, padding, shared, useBias, ...base } = args;
    super(base);
    this.spec = {
      kind: "cg",
      filters,
      kernel,
      order,
      stride: stride ?? 1,
      dilation: dilation ?? 1,
      padding: padding ?? "valid",
      shared: shared ?? false,
      bias: useBias ?? true,
    };
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape[shape.length - 1];
    if (channels === null || channels === undefined)
      throw new Error("CGLayer needs a known channel count");
    const terms = cgTerms(this.spec);
    const cin = this.spec.shared ? 1 : channels;
    this.kernel = this.addWeight(
      "kernel",
      [terms, cin, this.spec.filters],
      "float32",
      tf.initializers.randomNormal({ stddev: Math.sqrt(1 / (terms * channels)) }),
    );
    if (this.spec.bias) {
      this.bias = this.addWeight("bias", [this.spec.filters], "float32", tf.initializers.zeros());
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w] = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const { kernel, stride = 1, dilation = 1, padding = "valid" } = this.spec;
    const size = (v: number | null) =>
      v === null ? null : windowOutSize(v, kernel, stride, dilation, padding);
    return [n, size(h), size(w), this.spec.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    if (!this.kernel) throw new Error("CGLayer called before build");
    return cgForward(x, this.spec, this.kernel.read(), this.bias?.read());
  }

  override getConfig(): tf.serialization.ConfigDict {
    const { filters, kernel, order, stride, dilation, padding, shared, bias } = this.spec;
    return {
      ...super.getConfig(),
      filters,
      kernel,
      order,
      stride,
      dilation,
      padding,
      shared,
      useBias: bias,
    } as tf.serialization.ConfigDict;
  }
}

tf.serialization.registerClass(CGLayer);
