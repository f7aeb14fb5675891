/**
 * Device versions of ops the planner normally folds on the host (Range, ConstantOfShape,
 * Trilu, in `fold/hostOps.ts`). The executor reaches these only when an input is on the
 * device, or a host input is too large to fold.
 *
 * Device ops are synchronous: they cannot read a device tensor back. Range's length and
 * ConstantOfShape's dims decide the output shape, so those inputs must be on the host
 * (they are in every exporter's graph: they come from Shape chains); a device input
 * gets an error that says so rather than a guess. Trilu's data may live anywhere and is
 * masked with backend ops; only its scalar k must be on the host.
 */
import { Tensor, allocHost } from '../../tensor/tensor.js';
import { HOST_OPS } from '../fold/hostOps.js';
import { fromHostTensor, scalarOf, toTensor } from '../fold/values.js';
import { attrInt, hostInput, input, type DeviceOp, type OpCall } from './types.js';

/** Runs the host version of the op and uploads its outputs. */
function onHost(c: OpCall, opType: string, why: string): Tensor[] {
  const hv = c.inputs.map((t, i) => {
    if (!t) return undefined;
    if (t.location !== 'cpu') {
      throw new Error(`${c.where}: input ${i} is computed on ${t.location}, but ${why}; it must be known on the host (a constant or a Shape chain)`);
    }
    return fromHostTensor(t);
  });
  return HOST_OPS[opType](hv, c.attrs, c.opset).map((v) => c.backend.upload(toTensor(v)));
}

export const range: DeviceOp = (c) => onHost(c, 'Range', 'its values set the output length');

export const constantOfShape: DeviceOp = (c) => onHost(c, 'ConstantOfShape', 'its values are the output dims');

/**
 * Trilu: x (…, R, C) times a host-built (R, C) keep-mask: upper keeps col − row ≥ k,
 * lower keeps col − row ≤ k.
 */
export const trilu: DeviceOp = (c) => {
  const x = input(c, 0, 'input');
  if (x.rank < 2) throw new Error(`${c.where}: input must have rank ≥ 2, got rank ${x.rank}`);
  const kv = hostInput(c, 1, 'k');
  const k = kv ? scalarOf(kv, `${c.where} k`) : 0;
  const upper = attrInt(c, 'upper', 1) === 1;
  const [rows, cols] = x.dims.slice(-2);
  const keep = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let col = 0; col < cols; col++) keep[r * cols + col] = +(upper ? col - r >= k : col - r <= k);
  }
  const zero = new Tensor(x.dtype, allocHost(x.dtype, 1), []);
  return [c.backend.where(new Tensor('bool', keep, [rows, cols]), x, zero)];
};
