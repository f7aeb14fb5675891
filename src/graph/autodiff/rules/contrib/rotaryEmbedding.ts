/**
 * com.microsoft RotaryEmbedding (forward in graph/ops/contrib.ts): each pair (x1, x2) of
 * the rotated features becomes (x1·c − x2·s, x2·c + x1·s), a linear map whose transpose is
 * the same map with s → −s. So dx = applyRotary(dy, cos, −sin), with the forward's
 * geometry: input (B, S, N·D) or (B, N, S, D) viewed as (B, S, N, D), angle rows gathered
 * by position_ids as (B, S, 1, half). The transpose holds for any tables, not only
 * c² + s² = 1 (then it is the inverse rotation). Position ids and caches get no gradient.
 *
 * The forward refuses interleaved = 1 and a rotary_embedding_dim other than 2·half (before
 * a rule could run), and rotates D features non-interleaved; the rule does the same. When
 * the forward lifts those limits, the call below changes with it (applyRotary takes both).
 */
import type { Tensor } from '../../../../tensor/tensor.js';
import { applyRotary } from '../../../ops/contrib.js';
import { attrInt, int32Indices } from '../../../ops/types.js';
import type { GradRule } from '../../types.js';

export const rotaryEmbeddingRule: GradRule = {
  saves: { inputs: [1, 2, 3], outputs: [] },
  grad: (c, own) => {
    const dy = c.dOutputs[0];
    if (!dy || !c.wants[0]) return [];
    const b = c.backend;
    const xDims = c.inputDims[0]!;
    const cosCache = c.inputs[2]!; // (max_pos, half)
    const half = cosCache.dims[1];
    const rotDim = attrInt(c, 'rotary_embedding_dim', 0) || 2 * half; // = 2·half: the forward refuses others
    const pos = int32Indices(c, c.inputs[1]!); // (B, S)
    if (pos !== c.inputs[1]) own(pos);
    const threeD = xDims.length === 3;
    const [B, S] = threeD ? [xDims[0], xDims[1]] : [xDims[0], xDims[2]];
    const D = threeD ? rotDim : xDims[3];
    const N = threeD ? xDims[2] / D : xDims[1];
    const rows = (cache: Tensor) => own(b.reshape(own(b.gather(cache, pos, 0)), [B, S, 1, half])); // (B, S, 1, half)
    const negSin = own(b.unary('neg', rows(c.inputs[3]!)));
    const dys = own(threeD ? b.reshape(dy, [B, S, N, D]) : b.transpose(dy, [0, 2, 1, 3])); // (B, S, N, D)
    const dx = own(applyRotary(b, dys, rows(cosCache), negSin, D, false)); // (B, S, N, D)
    return [threeD ? b.reshape(dx, xDims) : b.transpose(dx, [0, 2, 1, 3])];
  },
};
