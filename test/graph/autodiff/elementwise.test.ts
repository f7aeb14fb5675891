/** Gradient rules for elementwise ops: central differences on cpu, webgpu equal to cpu. */
import { describe, it } from 'vitest';
import { checkRule } from '../../helpers/gradRule.js';
import { gpu, hasWebGpu } from '../../helpers/gpu.js';
import { randn } from '../../helpers/numeric.js';

const dev = async () => (hasWebGpu ? gpu() : undefined);

describe('binary ops with broadcasting', () => {
  for (const opType of ['Add', 'Sub', 'Mul', 'Div']) {
    it(`${opType} (3, 5, 7) ⊙ (5, 1)`, async () => {
      const b = opType === 'Div' ? randn([5, 1], 2, 0.5, 2) : randn([5, 1], 2);
      await checkRule({ opType, inputs: [randn([3, 5, 7], 1), b], wrt: [0, 1] }, await dev());
    });
  }
  it('Pow with a positive base', async () => {
    await checkRule({ opType: 'Pow', inputs: [randn([4, 9], 3, 0.5, 2), randn([9], 4)], wrt: [0, 1] }, await dev());
  });
  it('only the wanted input gets a gradient', async () => {
    await checkRule({ opType: 'Sub', inputs: [randn([2, 3], 5), randn([2, 3], 6)], wrt: [1] }, await dev());
  });
});
