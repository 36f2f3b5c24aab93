// The ONNX protobuf schema (onnx-proto) and small constructors for tensors, attributes and
// typed values, so the exporter and checker never touch protobufjs details.
import onnxProto from "onnx-proto";

export const onnx = onnxProto.onnx;
export type ModelProto = onnxProto.onnx.IModelProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;

export const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const INT64 = onnx.TensorProto.DataType.INT64;

/** A dimension: a fixed size or a symbolic name such as "N". */
export type Dim = number | string;

export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
}

export function floatTensor(name: string, dims: number[], data: Float32Array): TensorProto {
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== data.length) {
    throw new Error(`initializer ${name}: ${data.length} values for dims [${dims}]`);
  }
  return { name, dims, dataType: FLOAT, rawData: bytesOf(data) };
}

export function int64Tensor(name: string, dims: number[], data: number[]): TensorProto {
  return { name, dims, dataType: INT64, rawData: bytesOf(BigInt64Array.from(data, BigInt)) };
}

/** Integer-valued numbers become INT/INTS; use {float}/{floats} for real-valued attributes. */
export function attribute(name: string, value: AttrValue): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === "string") return { name, type: T.STRING, s: Buffer.from(value, "utf8") };
  if (typeof value === "number") return { name, type: T.INT, i: value };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if ("float" in value) return { name, type: T.FLOAT, f: value.float };
  return { name, type: T.FLOATS, floats: value.floats };
}

export function tensorValueInfo(name: string, dims: Dim[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: {
          dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  };
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** Decodes a ModelProto; throws on bytes that are not one (truncated or corrupted data). */
export function decodeModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}

/** The number of elements an initializer's data holds, for its declared type. */
export function tensorElementCount(t: TensorProto): number {
  const width = t.dataType === INT64 ? 8 : 4;
  if (t.rawData && t.rawData.length > 0) return t.rawData.length / width;
  if (t.dataType === INT64) return t.int64Data?.length ?? 0;
  return t.floatData?.length ?? 0;
}
