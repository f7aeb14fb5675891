/**
 * Target matching against PEFT's rules (tuners_utils.py `check_target_module_exists`,
 * `_maybe_include_all_linear_layers`, `inject_adapter`; utils/other.py `get_pattern_key`)
 * on the real target lists of the torch.onnx fixtures: tiny GPT-2 (Conv1D, `transformer.h.N`),
 * tiny Llama (`model.layers.N`, lm_head) and tiny BERT (`bert.encoder.layer.N`, pooler, classifier).
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { findLoraTargets, type LoraTarget } from '../../src/graph/targets.js';
import { readOnnxModel } from '../../src/onnx/index.js';
import { LoraConfigError } from '../../src/peft/config.js';
import { compactPaths, LoraTargetError, matchTargets } from '../../src/peft/match.js';

type Model = 'tiny-gpt2' | 'tiny-llama' | 'tiny-bert';
const T = {} as Record<Model, LoraTarget[]>;

beforeAll(async () => {
  for (const m of ['tiny-gpt2', 'tiny-llama', 'tiny-bert'] as const) {
    T[m] = findLoraTargets(await readOnnxModel(new URL(`../fixtures/models/${m}/model.onnx`, import.meta.url)));
  }
});

const paths = (model: Model, config: object) => matchTargets(T[model], config).matches.map((m) => m.target.path);
const layer = (i: number, ...names: string[]) => names.map((n) => `model.layers.${i}.${n}`);
const ATTN = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj'];
const MLP = ['mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj'];
const noMatch = (model: Model, config: object): LoraTargetError => {
  try {
    matchTargets(T[model], config);
  } catch (e) {
    expect(e).toBeInstanceOf(LoraTargetError);
    return e as LoraTargetError;
  }
  throw new Error(`matched: ${JSON.stringify(config)}`);
};

/** A synthetic target, for paths the fixtures do not have. */
const fake = (path: string, extra: Partial<LoraTarget> = {}): LoraTarget => ({
  path, pathSource: 'node-scope', pathFrom: `/${path.replaceAll('.', '/')}/MatMul`, node: `/${path}/MatMul`, opType: 'MatMul',
  weight: `onnx::MatMul_${path.length}`, inFeatures: 8, outFeatures: 8, fanInFanOut: true, dtype: 'float32', via: [],
  layer: undefined, isOutputHead: false, ...extra,
});

describe('target_modules as a list: exact path or "." + name suffix', () => {
  it('the PyTorch LoRA fixtures: same modules and scaling as PEFT wrapped', () => {
    for (const model of ['tiny-gpt2', 'tiny-llama', 'tiny-bert'] as const) {
      const fixture = JSON.parse(readFileSync(new URL(`../fixtures/lora/${model}.json`, import.meta.url), 'utf8'));
      for (const c of fixture.cases) {
        const { matches } = matchTargets(T[model], c.config);
        expect(matches.map((m) => `base_model.model.${m.target.path}`)).toEqual(c.lora_modules);
        for (const m of matches) expect([m.r, m.alpha, m.scaling]).toEqual([c.config.r, c.config.lora_alpha, c.scaling]);
      }
    }
  });

  it('a name matches only whole trailing segments: "proj" is not a suffix of "q_proj"', () => {
    expect(noMatch('tiny-llama', { target_modules: ['proj'] }).message).toMatch(/^Target modules \["proj"\] not found in the base model/);
    expect(paths('tiny-gpt2', { target_modules: ['attn.c_proj'] })).toEqual(['transformer.h.0.attn.c_proj', 'transformer.h.1.attn.c_proj']);
  });

  it('a full path matches itself only', () => {
    expect(paths('tiny-llama', { target_modules: ['model.layers.1.self_attn.q_proj'] })).toEqual(['model.layers.1.self_attn.q_proj']);
    expect(paths('tiny-bert', { target_modules: ['classifier'] })).toEqual(['classifier']);
  });

  it('a list may name the output head (only all-linear leaves it out)', () => {
    expect(paths('tiny-llama', { target_modules: ['lm_head'] })).toEqual(['lm_head']);
  });
});

describe('target_modules as a string: re.fullmatch on the path', () => {
  it('must match the whole path, not a part of it', () => {
    expect(noMatch('tiny-llama', { target_modules: 'q_proj' }).message).toMatch(/^Target modules "q_proj" not found/);
    expect(paths('tiny-llama', { target_modules: '.*q_proj' })).toEqual(['model.layers.0.self_attn.q_proj', 'model.layers.1.self_attn.q_proj']);
  });

  it('alternations and layer restrictions, as PEFT users write them', () => {
    expect(paths('tiny-llama', { target_modules: '.*\\.(q|v)_proj' })).toEqual([...layer(0, ATTN[0], ATTN[2]), ...layer(1, ATTN[0], ATTN[2])]);
    expect(paths('tiny-llama', { target_modules: 'model\\.layers\\.0\\..*' })).toEqual(layer(0, ...ATTN, ...MLP));
    expect(paths('tiny-bert', { target_modules: '.*encoder.*(query|value)' })).toHaveLength(4);
  });

  it("Python's named-group syntax works", () => {
    expect(paths('tiny-gpt2', { target_modules: '.*\\.(?P<block>mlp)\\.c_fc' })).toEqual(['transformer.h.0.mlp.c_fc', 'transformer.h.1.mlp.c_fc']);
  });
});

describe('all-linear: every linear layer but the output head', () => {
  it('tiny Llama: 14 projections, lm_head left out', () => {
    expect(paths('tiny-llama', { target_modules: 'all-linear' })).toEqual([...layer(0, ...ATTN, ...MLP), ...layer(1, ...ATTN, ...MLP)]);
  });

  it('tiny GPT-2: the Conv1D layers, lm_head left out', () => {
    expect(paths('tiny-gpt2', { target_modules: 'all-linear', fan_in_fan_out: true })).toHaveLength(8);
  });

  it('tiny BERT classifier: encoder and pooler, the classifier head left out (PEFT, task_type SEQ_CLS)', () => {
    const ps = paths('tiny-bert', { target_modules: 'all-linear', task_type: 'SEQ_CLS' });
    expect(ps).toHaveLength(13);
    expect(ps).toContain('bert.pooler.dense');
    expect(ps).not.toContain('classifier');
  });

  it('is read case-insensitively, as PEFT lower-cases it', () => {
    expect(paths('tiny-llama', { target_modules: 'ALL-LINEAR' })).toHaveLength(14);
  });
});

describe('exclude_modules and modules_to_save', () => {
  it('a list excludes by exact path or suffix, a string by full match; exclusion wins', () => {
    expect(paths('tiny-llama', { target_modules: 'all-linear', exclude_modules: ['down_proj', 'model.layers.0.mlp.up_proj'] })).toEqual([
      ...layer(0, ...ATTN, 'mlp.gate_proj'), ...layer(1, ...ATTN, 'mlp.gate_proj', 'mlp.up_proj'),
    ]);
    expect(paths('tiny-llama', { target_modules: ['q_proj', 'v_proj'], exclude_modules: '.*\\.1\\..*' })).toEqual(layer(0, ATTN[0], ATTN[2]));
  });

  it('excluding every module is an error, in PEFT words; excluding just the targets is the mixed case', () => {
    expect(noMatch('tiny-llama', { target_modules: 'all-linear', exclude_modules: '.*' }).message).toMatch(
      /^All modules were excluded\. This is likely unintended\./,
    );
    expect(noMatch('tiny-llama', { target_modules: ['q_proj'], exclude_modules: ['q_proj'] }).message).toMatch(
      /^No modules were targeted for adaptation\. This might be caused by a combination of mismatched target modules and excluded modules\./,
    );
  });

  it('an exclude_modules that excludes nothing is a warning', () => {
    const { warnings } = matchTargets(T['tiny-llama'], { target_modules: ['q_proj'], exclude_modules: ['lm_heads'] });
    expect(warnings).toEqual(['You have passed exclude_modules=["lm_heads"] but no modules were excluded. Please check that exclude_modules was set correctly.']);
  });

  it('modules_to_save are never adapted, nor anything inside them', () => {
    // BERT's `…attention.output` and `…layer.N.output` both hold a `dense`.
    expect(paths('tiny-bert', { target_modules: ['dense'], modules_to_save: ['output'] })).toEqual([
      'bert.encoder.layer.0.intermediate.dense', 'bert.encoder.layer.1.intermediate.dense', 'bert.pooler.dense',
    ]);
    expect(paths('tiny-bert', { target_modules: ['query', 'classifier'], modules_to_save: ['classifier'] })).toHaveLength(2);
  });

  it('mismatches and exclusions together: the third PEFT error', () => {
    expect(noMatch('tiny-bert', { target_modules: ['classifier', 'foo'], modules_to_save: ['classifier'] }).message).toMatch(
      /^No modules were targeted for adaptation\./,
    );
  });
});

describe('layers_to_transform', () => {
  it('without layers_pattern: the first numbered segment of the path is the layer', () => {
    expect(paths('tiny-llama', { target_modules: ['q_proj', 'v_proj'], layers_to_transform: [1] })).toEqual(layer(1, ATTN[0], ATTN[2]));
    expect(paths('tiny-gpt2', { target_modules: ['c_attn', 'c_fc'], layers_to_transform: 0 })).toEqual([
      'transformer.h.0.attn.c_attn', 'transformer.h.0.mlp.c_fc',
    ]);
    expect(paths('tiny-bert', { target_modules: ['query'], layers_to_transform: [0, 1] })).toHaveLength(2);
  });

  it('with layers_pattern: the index after that segment', () => {
    expect(paths('tiny-llama', { target_modules: ['o_proj'], layers_to_transform: [0], layers_pattern: 'layers' })).toEqual(['model.layers.0.self_attn.o_proj']);
    expect(paths('tiny-gpt2', { target_modules: ['c_proj'], layers_to_transform: [1], layers_pattern: 'h' })).toEqual([
      'transformer.h.1.attn.c_proj', 'transformer.h.1.mlp.c_proj',
    ]);
    expect(paths('tiny-bert', { target_modules: ['value'], layers_to_transform: [1], layers_pattern: ['blocks', 'layer'] })).toEqual([
      'bert.encoder.layer.1.attention.self.value',
    ]);
  });

  it('a layers_pattern the paths do not have matches nothing; the error says so', () => {
    const e = noMatch('tiny-llama', { target_modules: ['q_proj'], layers_to_transform: [0], layers_pattern: 'blocks' });
    expect(e.message).toMatch(/not found in the base model\. Please check the target modules and try again\. Note: You specified 'layers_to_transform': \[0\]\. You also specified 'layers_pattern': "blocks"\./);
  });

  it('a suffix match without a layer index is dropped (the pooler); an exact path is kept whatever its layer', () => {
    expect(paths('tiny-bert', { target_modules: ['dense'], layers_to_transform: [0] })).toEqual([
      'bert.encoder.layer.0.attention.output.dense', 'bert.encoder.layer.0.intermediate.dense', 'bert.encoder.layer.0.output.dense',
    ]);
    // `key in target_modules` comes before the layer filter in PEFT: lm_head (no index) stays.
    expect(paths('tiny-llama', { target_modules: ['lm_head', 'q_proj'], layers_to_transform: [0] })).toEqual(['model.layers.0.self_attn.q_proj', 'lm_head']);
    expect(paths('tiny-llama', { target_modules: ['model.layers.0.self_attn.q_proj', 'v_proj'], layers_to_transform: [1] })).toEqual([
      'model.layers.0.self_attn.q_proj', 'model.layers.1.self_attn.v_proj',
    ]);
  });

  it('nested indices (MoE experts): the layer is the first numbered segment, not the expert', () => {
    const ts = [fake('model.layers.1.mlp.experts.0.w1'), fake('model.layers.0.mlp.experts.1.w1')];
    expect(matchTargets(ts, { target_modules: ['w1'], layers_to_transform: [1] }).matches.map((m) => m.target.path)).toEqual(['model.layers.1.mlp.experts.0.w1']);
  });

  it('a capturing group in layers_pattern breaks PEFT too; here it is named', () => {
    expect(() => matchTargets(T['tiny-llama'], { target_modules: ['q_proj'], layers_to_transform: [0], layers_pattern: '(layers)' })).toThrow(LoraConfigError);
  });
});

describe('rank_pattern / alpha_pattern', () => {
  it('a key matches the path or a "."-aligned tail of it; r and alpha are looked up separately', () => {
    const { matches } = matchTargets(T['tiny-llama'], {
      target_modules: ['q_proj', 'v_proj'], r: 8, lora_alpha: 16, rank_pattern: { q_proj: 4 }, alpha_pattern: { v_proj: 64 },
    });
    expect(matches.map((m) => [m.target.path.slice(13), m.r, m.alpha, m.scaling])).toEqual([
      ['0.self_attn.q_proj', 4, 16, 4], ['0.self_attn.v_proj', 8, 64, 8], ['1.self_attn.q_proj', 4, 16, 4], ['1.self_attn.v_proj', 8, 64, 8],
    ]);
  });

  it('the first key in order wins, so a more specific key must come first', () => {
    const rank = (rank_pattern: Record<string, number>) =>
      matchTargets(T['tiny-llama'], { target_modules: ['q_proj'], rank_pattern }).matches.map((m) => m.r);
    expect(rank({ q_proj: 4, 'layers.0.self_attn.q_proj': 16 })).toEqual([4, 4]);
    expect(rank({ 'layers.0.self_attn.q_proj': 16, q_proj: 4 })).toEqual([16, 4]);
  });

  it('keys are regexes: "proj" is no tail of "q_proj", ".*proj" is; ^ pins a full path', () => {
    const rank = (rank_pattern: Record<string, number>) =>
      matchTargets(T['tiny-llama'], { target_modules: ['q_proj', 'down_proj'], rank_pattern }).matches.map((m) => m.r);
    expect(rank({ proj: 2 })).toEqual([8, 8, 8, 8]);
    expect(rank({ '.*proj': 2 })).toEqual([2, 2, 2, 2]);
    expect(rank({ '^model.layers.1.mlp.down_proj': 32 })).toEqual([8, 8, 8, 32]);
    expect(rank({ 'layers\\.0\\..*': 16 })).toEqual([16, 16, 8, 8]);
  });

  it('^ anchors at the start of the path: a short name with ^ matches nothing nested', () => {
    const ts = [fake('foo'), fake('bar.foo')];
    expect(matchTargets(ts, { target_modules: ['foo'], rank_pattern: { '^foo': 2 } }).matches.map((m) => m.r)).toEqual([2, 8]);
  });

  it('rsLoRA: scaling = alpha / √r, per module rank', () => {
    const { matches } = matchTargets(T['tiny-llama'], {
      target_modules: ['q_proj', 'k_proj'], r: 4, lora_alpha: 8, use_rslora: true, rank_pattern: { k_proj: 16 },
    });
    expect(matches.map((m) => [m.r, m.scaling])).toEqual([[4, 4], [16, 2], [4, 4], [16, 2]]);
  });
});

describe('fan_in_fan_out: the detected layout is used, a contradicted setting is a warning', () => {
  it("GPT-2's Conv1D weights are stored (in, out): fan_in_fan_out false gets PEFT's warning, naming the modules", () => {
    const { matches, warnings } = matchTargets(T['tiny-gpt2'], { target_modules: ['c_attn', 'c_fc'] });
    expect(matches.every((m) => m.fanInFanOut)).toBe(true);
    expect(warnings).toEqual([
      'fan_in_fan_out is set to False but the target module is `Conv1D`. Setting fan_in_fan_out to True. ' +
        "[transformer.h.{0,1}.attn.c_attn, transformer.h.{0,1}.mlp.c_fc store their weight (fan_in, fan_out) like transformers' Conv1D; webpeft uses the stored layout]",
    ]);
    expect(matchTargets(T['tiny-gpt2'], { target_modules: ['c_attn'], fan_in_fan_out: true }).warnings).toEqual([]);
  });

  it("BERT's pooler is an nn.Linear (out, in): fan_in_fan_out true gets the other warning", () => {
    const { warnings } = matchTargets(T['tiny-bert'], { target_modules: ['dense'], fan_in_fan_out: true });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^fan_in_fan_out is set to True but the target module is `torch.nn.Linear`\. Setting fan_in_fan_out to False\. \[bert\.pooler\.dense store/);
  });

  it('weights an exporter transposed into a constant (onnx::MatMul_*) say nothing of the torch module: no warning', () => {
    for (const fanInFanOut of [false, true]) {
      const { matches, warnings } = matchTargets(T['tiny-llama'], { target_modules: ['q_proj'], fanInFanOut });
      expect(warnings).toEqual([]);
      expect(matches.map((m) => m.fanInFanOut)).toEqual([true, true]);
    }
  });

  it("nor do ORT GenAI's pre-transposed `.MatMul.weight` initializers", () => {
    const t = fake('model.layers.0.self_attn.q_proj', { pathSource: 'initializer', weight: 'model.layers.0.attn.q_proj.MatMul.weight' });
    t.pathFrom = t.weight;
    expect(matchTargets([t], { target_modules: ['q_proj'] }).warnings).toEqual([]);
  });
});

describe('nothing to adapt', () => {
  it('the error gives the target_modules and the model\'s paths, compact and deduplicated', () => {
    const e = noMatch('tiny-llama', { target_modules: ['q', 'v'] });
    expect(e.message).toBe(
      'Target modules ["q","v"] not found in the base model. Please check the target modules and try again.\n' +
        "The model's LoRA-able modules (15): model.layers.{0,1}.self_attn.q_proj, model.layers.{0,1}.self_attn.k_proj, " +
        'model.layers.{0,1}.self_attn.v_proj, model.layers.{0,1}.self_attn.o_proj, model.layers.{0,1}.mlp.gate_proj, ' +
        'model.layers.{0,1}.mlp.up_proj, model.layers.{0,1}.mlp.down_proj, lm_head (output head)\n' +
        'Module names: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj, lm_head\n' +
        'A list entry matches a module whose path equals it or ends with "." + it; a string is a regex that must match the whole path.',
    );
    expect(e.available).toHaveLength(15);
    expect(e.available[0]).toBe('model.layers.0.self_attn.q_proj');
  });

  it('no target_modules: PEFT would take them from the model type; here they must be given', () => {
    expect(noMatch('tiny-gpt2', {}).message).toMatch(/^No `target_modules` passed but also no `target_parameters` found\..*webpeft needs them set/);
    expect(noMatch('tiny-gpt2', { target_modules: [] }).message).toMatch(/^No `target_modules` passed/);
  });

  it('a model without linear layers says so', () => {
    expect(() => matchTargets([], { target_modules: 'all-linear' })).toThrow(/no LoRA-able linear layers/);
  });

  it('an invalid config is a LoraConfigError, before any matching', () => {
    expect(() => matchTargets(T['tiny-llama'], { target_modules: ['q_proj'], r: '8' })).toThrow('LoraConfig.r: expected a positive integer, got "8"');
  });
});

describe('compactPaths', () => {
  it('folds one layer index into a run or a set, keeps first-seen order and caps the list', () => {
    const ps = [...Array.from({ length: 12 }, (_, i) => `h.${i}.attn`), 'h.3.mlp', 'h.7.mlp', 'lm_head', 'h.0.attn'];
    expect(compactPaths(ps)).toEqual(['h.{0..11}.attn', 'h.{3,7}.mlp', 'lm_head']);
    expect(compactPaths(['a.1.x'])).toEqual(['a.1.x']);
    expect(compactPaths(['a', 'b', 'c'], 2)).toEqual(['a', 'b', '... 1 more']);
  });
});
