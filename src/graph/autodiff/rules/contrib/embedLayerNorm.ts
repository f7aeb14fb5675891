/**
 * com.microsoft EmbedLayerNormalization (forward in graph/ops/contrib.ts):
 *
 *   sum = word[ids] + position[position_ids] (+ segment[segment_ids])   (B, S, C)
 *   output = LayerNorm(sum)·gamma + beta;  mask_index = Σ mask (int);  embedding_sum = sum
 *
 * The LayerNorm statistics are recomputed from the saved tables with the forward's ops (so
 * bit-identical); d sum = the norm's dx + embedding_sum's gradient, scattered back into each
 * table with gatherBackward (repeated ids accumulate). position_ids default to 0 … S − 1 as
 * (1, S), broadcast over the batch: their gradient is summed over it first. Ids and mask
 * get none.
 *
 * Inputs: input_ids, segment_ids, word_embedding, position_embedding, segment_embedding,
 * gamma, beta, mask, position_ids.
 */
import { sameDims } from '../../../../tensor/shape.js';
import { Tensor } from '../../../../tensor/tensor.js';
import { attrFloat, int32Indices } from '../../../ops/types.js';
import type { GradRule } from '../../types.js';
import { pick } from '../linear/common.js';

const TABLES = [2, 3, 4];

export const embedLayerNormRule: GradRule = {
  saves: { inputs: [0, 1, 2, 3, 4, 5, 8], outputs: [] },
  grad: (c, own) => {
    const b = c.backend;
    const [dy, , dEmbSum] = c.dOutputs;
    const grads: (Tensor | undefined)[] = new Array(c.inputDims.length).fill(undefined);
    const wantBeta = c.wants[6] && !!c.inputDims[6];
    if (dy && wantBeta) grads[6] = own(b.sumToShape(dy, c.inputDims[6]!));
    const wantTables = TABLES.some((i) => c.wants[i]);
    if (!wantTables && !c.wants[5]) return grads;

    // The forward's ids and sum.
    const idsOf = (t: Tensor) => {
      const i32 = int32Indices(c, t);
      return i32 === t ? t : own(i32);
    };
    const ids = idsOf(c.inputs[0]!);
    const S = ids.dims[1];
    const posIds = c.inputs[8] ? idsOf(c.inputs[8]) : new Tensor('int32', Int32Array.from({ length: S }, (_, i) => i), [1, S]);
    const segIds = c.inputs[1] && c.inputs[4] ? idsOf(c.inputs[1]) : undefined;
    const at = [ids, posIds, segIds]; // by table, as TABLES

    let dSum: Tensor | undefined = dEmbSum; // not the rule's own until replaced below
    if (dy) {
      const embed = (i: number) => own(b.gather(c.inputs[TABLES[i]]!, at[i]!, 0)); // (·, S, C)
      let sum = own(b.binary('add', embed(0), embed(1)));
      if (segIds) sum = own(b.binary('add', sum, embed(2)));
      const gamma = c.inputs[5]!;
      const stats = b.layerNorm(sum, gamma, undefined, attrFloat(c, 'epsilon', 1e-12));
      own(stats.y);
      const r = b.layerNormBackward(sum, gamma, own(stats.mean!), own(stats.invStd), dy);
      own(r.dBeta);
      grads[5] = pick(own, c.wants[5], r.dGamma);
      dSum = own(r.dx);
      if (dEmbSum) dSum = own(b.binary('add', dSum, dEmbSum));
    }
    if (!dSum) return grads;
    TABLES.forEach((ti, i) => {
      const idx = at[i];
      const dims = c.inputDims[ti];
      if (!c.wants[ti] || !idx || !dims) return;
      // The gather's output dims (·, S, C); the add broadcast a (1, S) lookup over the batch.
      const outDims = [...idx.dims, ...dims.slice(1)];
      const d = sameDims(outDims, dSum!.dims) ? dSum! : own(b.sumToShape(dSum!, outDims));
      grads[ti] = own(b.gatherBackward(idx, d, dims, 0));
    });
    return grads;
  },
};
