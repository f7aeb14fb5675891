/** CumSum and ScatterND over the backend's `cumsum` / `scatterND`. */
import { scalarOf } from '../fold/values.js';
import { attrInt, hostInput, input, int32Indices, type DeviceOp } from './types.js';

/** CumSum along the axis given by input 1 (a scalar that exporters make constant). */
export const cumSum: DeviceOp = (c) => {
  const x = input(c, 0, 'x');
  const axis = scalarOf(hostInput(c, 1, 'axis') ?? missing(c.where, 'axis'), `${c.where} axis`);
  return [c.backend.cumsum(x, axis, attrInt(c, 'exclusive', 0) === 1, attrInt(c, 'reverse', 0) === 1)];
};

/** ScatterND with reduction 'none' (default) or 'add'; 'mul' / 'max' / 'min' are refused by name. */
export const scatterND: DeviceOp = (c) => {
  const reduction = c.attrs.reduction ?? 'none';
  if (reduction !== 'none' && reduction !== 'add') {
    throw new Error(`${c.where}: reduction '${String(reduction)}' is not supported ('none' or 'add')`);
  }
  const idx = int32Indices(c, input(c, 1, 'indices'));
  return [c.backend.scatterND(input(c, 0, 'data'), idx, input(c, 2, 'updates'), reduction)];
};

function missing(where: string, what: string): never {
  throw new Error(`${where}: ${what} is missing`);
}
