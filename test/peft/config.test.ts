/**
 * LoraConfig parsing against PEFT's LoraConfig (peft/tuners/lora/config.py): defaults,
 * snake_case / camelCase, PEFT's own checks, errors that name the field, unknown fields
 * kept, and adapter_config.json written back as PEFT writes it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LoraConfigError, parseLoraConfig, toPeftJson } from '../../src/peft/config.js';
import { fullmatch, pyRegex } from '../../src/peft/pyregex.js';

const parse = (input: object, source?: string) => parseLoraConfig(input, source);
const err = (input: object, source?: string) => {
  try {
    parseLoraConfig(input, source);
  } catch (e) {
    expect(e).toBeInstanceOf(LoraConfigError);
    return (e as Error).message;
  }
  throw new Error(`no error for ${JSON.stringify(input)}`);
};

/** adapter_config.json as PEFT 0.17 saves it (json.dumps(indent=2, sort_keys=True)) for a Llama LoRA. */
const PEFT_JSON = `{
  "alpha_pattern": {},
  "auto_mapping": null,
  "base_model_name_or_path": "meta-llama/Llama-3.2-1B",
  "bias": "none",
  "corda_config": null,
  "eva_config": null,
  "exclude_modules": null,
  "fan_in_fan_out": false,
  "inference_mode": true,
  "init_lora_weights": true,
  "layer_replication": null,
  "layers_pattern": null,
  "layers_to_transform": null,
  "loftq_config": {},
  "lora_alpha": 16,
  "lora_bias": false,
  "lora_dropout": 0.05,
  "megatron_config": null,
  "megatron_core": "megatron.core",
  "modules_to_save": null,
  "peft_type": "LORA",
  "qalora_group_size": 16,
  "r": 8,
  "rank_pattern": {},
  "revision": null,
  "target_modules": [
    "v_proj",
    "q_proj"
  ],
  "target_parameters": null,
  "task_type": "CAUSAL_LM",
  "trainable_token_indices": null,
  "use_dora": false,
  "use_qalora": false,
  "use_rslora": false
}`;

describe('parseLoraConfig: defaults and spellings', () => {
  it("fills PEFT's defaults (r 8, lora_alpha 8, dropout 0, bias none, init true)", () => {
    const { config, warnings } = parse({});
    expect(warnings).toEqual([]);
    expect(config).toEqual({
      peftType: 'LORA', inferenceMode: false, r: 8, loraAlpha: 8, loraDropout: 0, rankPattern: {}, alphaPattern: {},
      fanInFanOut: false, bias: 'none', useRslora: false, initLoraWeights: true, peftFields: {}, unknown: {},
    });
  });

  it('reads snake_case (adapter_config.json) and camelCase alike', () => {
    const snake = parse({
      r: 4, lora_alpha: 32, lora_dropout: 0.1, target_modules: ['q_proj', 'v_proj'], exclude_modules: 'lm_head',
      layers_to_transform: [0, 1], layers_pattern: 'layers', rank_pattern: { q_proj: 8 }, alpha_pattern: { v_proj: 64 },
      fan_in_fan_out: true, bias: 'lora_only', modules_to_save: ['score'], use_rslora: true, init_lora_weights: 'gaussian',
      task_type: 'SEQ_CLS', peft_type: 'LORA', base_model_name_or_path: 'gpt2', revision: 'main', inference_mode: true,
    });
    const camel = parse({
      r: 4, loraAlpha: 32, loraDropout: 0.1, targetModules: ['q_proj', 'v_proj'], excludeModules: 'lm_head',
      layersToTransform: [0, 1], layersPattern: 'layers', rankPattern: { q_proj: 8 }, alphaPattern: { v_proj: 64 },
      fanInFanOut: true, bias: 'lora_only', modulesToSave: ['score'], useRslora: true, initLoraWeights: 'gaussian',
      taskType: 'SEQ_CLS', peftType: 'LORA', baseModelNameOrPath: 'gpt2', revision: 'main', inferenceMode: true,
    });
    expect(camel).toEqual(snake);
    expect(snake.warnings).toEqual([]);
    expect(snake.config).toMatchObject({ r: 4, loraAlpha: 32, targetModules: ['q_proj', 'v_proj'], layersToTransform: [0, 1], useRslora: true, taskType: 'SEQ_CLS' });
  });

  it('takes both spellings of one field when they agree, refuses them when they differ', () => {
    expect(parse({ lora_alpha: 16, loraAlpha: 16 }).config.loraAlpha).toBe(16);
    expect(err({ lora_alpha: 16, loraAlpha: 32 })).toBe('LoraConfig: lora_alpha and loraAlpha are the same field with different values (16, 32)');
  });

  it('null is "unset" for the fields PEFT types Optional, and a type error for the others', () => {
    const { config } = parse({ target_modules: null, task_type: null, rank_pattern: null, layers_to_transform: null });
    expect(config.targetModules).toBeUndefined();
    expect(config.taskType).toBeUndefined();
    expect(config.rankPattern).toEqual({});
    expect(err({ r: null })).toBe('LoraConfig.r: expected a positive integer, got null');
  });

  it('a target_modules string stays a string (regex or "all-linear")', () => {
    expect(parse({ target_modules: 'all-linear' }).config.targetModules).toBe('all-linear');
    expect(parse({ target_modules: '.*\\.(q|v)_proj' }).config.targetModules).toBe('.*\\.(q|v)_proj');
  });

  it('parses its own output again to the same config (so APIs can take either)', () => {
    const first = parse({ ...JSON.parse(PEFT_JSON), my_field: 1 });
    const again = parse(first.config);
    expect(again.config).toEqual(first.config);
  });

  it('the configs the PyTorch LoRA fixtures were made with parse cleanly', () => {
    for (const model of ['tiny-gpt2', 'tiny-llama', 'tiny-bert']) {
      const fixture = JSON.parse(readFileSync(new URL(`../fixtures/lora/${model}.json`, import.meta.url), 'utf8'));
      for (const c of fixture.cases) {
        const { config, warnings } = parse(c.config, `${model}/${c.name}`);
        expect(warnings).toEqual([]);
        expect(config.r).toBe(c.config.r);
        expect(config.useRslora).toBe(c.config.use_rslora);
      }
    }
  });
});

describe('parseLoraConfig: errors name the field, the expectation and the value', () => {
  it('numbers must be JSON numbers', () => {
    expect(err({ r: '8' })).toBe('LoraConfig.r: expected a positive integer, got "8"');
    expect(err({ r: 0 })).toBe('LoraConfig.r: expected a positive integer, got 0');
    expect(err({ r: 2.5 })).toBe('LoraConfig.r: expected a positive integer, got 2.5');
    expect(err({ loraAlpha: '16' })).toBe('LoraConfig.loraAlpha: expected a number, got "16"');
    expect(err({ lora_alpha: Number.NaN })).toBe('LoraConfig.lora_alpha: expected a number, got NaN');
    expect(err({ lora_dropout: 1.5 })).toBe('LoraConfig.lora_dropout: expected a number in [0, 1], got 1.5');
  });

  it('the source names the file', () => {
    expect(err({ r: -1 }, 'adapter_config.json')).toBe('adapter_config.json.r: expected a positive integer, got -1');
  });

  it('booleans, enums, lists and dicts', () => {
    expect(err({ fan_in_fan_out: 'true' })).toBe('LoraConfig.fan_in_fan_out: expected true or false, got "true"');
    expect(err({ bias: 'some' })).toBe('LoraConfig.bias: expected one of "none", "all", "lora_only", got "some"');
    expect(err({ task_type: 'CAUSAL' })).toMatch(/^LoraConfig.task_type: expected one of "SEQ_CLS", .*"CAUSAL_LM".*, got "CAUSAL"$/);
    expect(err({ target_modules: 5 })).toBe('LoraConfig.target_modules: expected a list of module names, a regex string or "all-linear", got 5');
    expect(err({ targetModules: ['q_proj', 1] })).toBe('LoraConfig.targetModules: expected a list of module names, a regex string or "all-linear", got ["q_proj",1]');
    expect(err({ layers_to_transform: -1 })).toBe('LoraConfig.layers_to_transform: expected a layer index or a list of them, got -1');
    expect(err({ layers_to_transform: [0, '1'] })).toBe('LoraConfig.layers_to_transform: expected a layer index or a list of them, got [0,"1"]');
    expect(err({ modules_to_save: 'classifier' })).toBe('LoraConfig.modules_to_save: expected a list of module names, got "classifier"');
    expect(err({ rank_pattern: { q_proj: 0 } })).toBe('LoraConfig.rank_pattern["q_proj"]: expected a positive integer, got 0');
    expect(err({ alphaPattern: { q_proj: '32' } })).toBe('LoraConfig.alphaPattern["q_proj"]: expected a number, got "32"');
    expect(err({ rank_pattern: [4] })).toBe('LoraConfig.rank_pattern: expected an object mapping module patterns to numbers, got [4]');
  });

  it('peft_type must be LORA', () => {
    expect(err({ peft_type: 'IA3' })).toBe('LoraConfig.peft_type: expected peft type "LORA" (webpeft implements LoRA only), got "IA3"');
  });

  it("init_lora_weights: true, false, 'gaussian'; PEFT's data-driven inits are refused as not supported yet", () => {
    expect(parse({ init_lora_weights: false }).config.initLoraWeights).toBe(false);
    for (const init of ['pissa', 'pissa_niter_16', 'olora', 'loftq', 'eva', 'corda', 'orthogonal']) {
      expect(err({ init_lora_weights: init })).toBe(
        `LoraConfig.init_lora_weights: init_lora_weights ${JSON.stringify(init)} is not supported yet (webpeft has true, false and "gaussian")`,
      );
    }
    expect(err({ init_lora_weights: 'uniform' })).toBe('LoraConfig.init_lora_weights: expected true, false or "gaussian", got "uniform"');
  });

  it('the input must be an object', () => {
    expect(err([] as unknown as object)).toBe('LoraConfig: expected an object of LoraConfig fields, got []');
  });

  it("LoraConfig.__post_init__'s combination checks, in PEFT's words", () => {
    expect(err({ target_modules: '.*q_proj', layers_to_transform: [0] })).toBe(
      'LoraConfig.layers_to_transform: `layers_to_transform` cannot be used when `target_modules` is a str.',
    );
    expect(err({ target_modules: 'all-linear', layers_to_transform: 1 })).toMatch(/cannot be used when `target_modules` is a str/);
    expect(err({ target_modules: '.*q_proj', layersPattern: 'layers', layersToTransform: [0] })).toMatch(/^LoraConfig.layersToTransform: /);
    expect(err({ target_modules: ['q_proj'], layers_pattern: 'layers' })).toBe(
      'LoraConfig.layers_pattern: When `layers_pattern` is specified, `layers_to_transform` must also be specified.',
    );
    // PEFT tests `not layers_to_transform`: 0 is falsy in Python, so [0] is the way to say layer 0.
    expect(err({ target_modules: ['q_proj'], layers_pattern: 'layers', layers_to_transform: 0 })).toMatch(/write \[0\]\)$/);
    expect(parse({ target_modules: ['q_proj'], layers_pattern: 'layers', layers_to_transform: [0] }).config.layersToTransform).toEqual([0]);
  });

  it('a regex that does not compile is reported against its field', () => {
    expect(err({ target_modules: 'q_proj(' })).toMatch(/^LoraConfig.target_modules: invalid regular expression "q_proj\(": /);
    expect(err({ exclude_modules: '[' })).toMatch(/^LoraConfig.exclude_modules: invalid regular expression/);
    expect(err({ rank_pattern: { 'q_proj)': 4 } })).toMatch(/^LoraConfig.rank_pattern\["q_proj\)"\]: invalid regular expression/);
    expect(err({ target_modules: '(?x) q_proj' })).toMatch(/^LoraConfig.target_modules: verbose patterns/);
  });
});

describe('parseLoraConfig: fields beyond the ones webpeft models', () => {
  it('unknown fields are kept and warned about, never fatal', () => {
    const { config, warnings } = parse({ r: 4, learning_rate: 1e-4, myOption: { a: 1 } });
    expect(config.unknown).toEqual({ learning_rate: 1e-4, myOption: { a: 1 } });
    expect(warnings).toEqual([
      'LoraConfig.learning_rate is not a LoraConfig field; it is kept (config.unknown) but has no effect',
      'LoraConfig.myOption is not a LoraConfig field; it is kept (config.unknown) but has no effect',
    ]);
  });

  it('keys that are Object.prototype names stay plain unknown fields', () => {
    const { config, warnings } = parse(JSON.parse('{"r": 4, "constructor": 1, "__proto__": {"r": 99}}'));
    expect(config.r).toBe(4);
    expect(Object.keys(config.unknown)).toEqual(['constructor', '__proto__']);
    expect(warnings).toHaveLength(2);
    expect(Object.keys(toPeftJson(config))).toContain('__proto__');
  });

  it("PEFT's other fields at inert values are carried silently; values that change the maths are refused", () => {
    const { config, warnings } = parse({ use_dora: false, megatron_core: 'megatron.core', lora_bias: false, target_parameters: null });
    expect(warnings).toEqual([]);
    expect(config.peftFields).toEqual({ use_dora: false, megatron_core: 'megatron.core', lora_bias: false, target_parameters: null });
    expect(err({ use_dora: true })).toBe('LoraConfig.use_dora: DoRA (use_dora) is not supported yet (got true)');
    expect(err({ lora_bias: true })).toMatch(/^LoraConfig.lora_bias: a bias on lora_B \(lora_bias\) is not supported yet/);
    expect(err({ layer_replication: [[0, 4], [2, 5]] })).toMatch(/^LoraConfig.layer_replication: layer replication/);
    expect(err({ trainable_token_indices: [0, 1] })).toMatch(/trainable tokens/);
    expect(err({ targetParameters: ['experts.gate_up_proj'] })).toMatch(/^LoraConfig.targetParameters: LoRA on parameters/);
  });

  it('loftq_config / eva_config without their init, and runtime_config, warn as PEFT does', () => {
    const { config, warnings } = parse({ loftq_config: { loftq_bits: 4 }, runtime_config: { ephemeral_gpu_offload: false } });
    expect(warnings).toEqual([
      'LoraConfig.loftq_config is ignored: init_lora_weights does not use it (PEFT ignores it too)',
      'LoraConfig.runtime_config is ignored: runtime configurations are not saved or restored (as in PEFT)',
    ]);
    expect(config.peftFields).toEqual({ loftq_config: { loftq_bits: 4 } });
  });
});

describe('toPeftJson', () => {
  it("round-trips PEFT's adapter_config.json byte for byte", () => {
    const { config, warnings } = parse(JSON.parse(PEFT_JSON), 'adapter_config.json');
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({ r: 8, loraAlpha: 16, loraDropout: 0.05, targetModules: ['v_proj', 'q_proj'], inferenceMode: true });
    expect(JSON.stringify(toPeftJson(config), null, 2)).toBe(PEFT_JSON);
  });

  it('writes snake_case, sorted keys, null for unset fields and the fields PEFT has written since 0.10', () => {
    const json = toPeftJson({ r: 16, loraAlpha: 32, targetModules: ['c_attn'], fanInFanOut: true, taskType: 'CAUSAL_LM' });
    expect(json).toEqual({
      alpha_pattern: {}, auto_mapping: null, base_model_name_or_path: null, bias: 'none', fan_in_fan_out: true,
      inference_mode: false, init_lora_weights: true, layer_replication: null, layers_pattern: null, layers_to_transform: null,
      loftq_config: {}, lora_alpha: 32, lora_dropout: 0, megatron_config: null, megatron_core: 'megatron.core',
      modules_to_save: null, peft_type: 'LORA', r: 16, rank_pattern: {}, revision: null, target_modules: ['c_attn'],
      task_type: 'CAUSAL_LM', use_dora: false, use_rslora: false,
    });
    expect(Object.keys(json)).toEqual(Object.keys(json).sort());
    // Read back, the written file is a fixed point; PEFT's extra fields now ride along in peftFields.
    const back = parse(json).config;
    expect(back.peftFields).toEqual({ auto_mapping: null, layer_replication: null, loftq_config: {}, megatron_config: null, megatron_core: 'megatron.core', use_dora: false });
    expect(toPeftJson(back)).toEqual(json);
  });

  it('writes every modeled field back', () => {
    const input = {
      r: 4, lora_alpha: 8, lora_dropout: 0.1, target_modules: ['q_proj'], exclude_modules: ['lm_head'], layers_to_transform: [1],
      layers_pattern: ['layers'], rank_pattern: { q_proj: 2 }, alpha_pattern: { q_proj: 4 }, fan_in_fan_out: false, bias: 'all',
      modules_to_save: ['score'], use_rslora: true, init_lora_weights: 'gaussian', task_type: 'SEQ_CLS',
      base_model_name_or_path: 'x/y', revision: 'v1', inference_mode: true,
    };
    expect(toPeftJson(input)).toMatchObject(input);
  });

  it('unknown fields go back out unless asked not to', () => {
    const { config } = parse({ r: 4, future_field: 'x' });
    expect(toPeftJson(config).future_field).toBe('x');
    expect('future_field' in toPeftJson(config, { unknown: false })).toBe(false);
  });

  it('refuses to write an invalid config', () => {
    expect(() => toPeftJson({ r: 'eight' })).toThrow('LoraConfig.r: expected a positive integer, got "eight"');
  });
});

describe('Python regexes', () => {
  it("named groups, \\A / \\Z and leading flags take JavaScript's spelling", () => {
    expect(fullmatch('.*\\.(?P<kind>q|v)_proj').exec('model.layers.0.self_attn.q_proj')?.groups?.kind).toBe('q');
    expect(fullmatch('(?P<a>x)\\.(?P=a)').test('x.x')).toBe(true);
    expect(pyRegex('\\Amodel\\.layers\\.0\\..*\\Z').test('model.layers.0.mlp.up_proj')).toBe(true);
    expect(fullmatch('(?i).*Q_PROJ').test('model.layers.0.self_attn.q_proj')).toBe(true);
  });

  it('a leading ] in a class is a literal, as in Python', () => {
    expect(fullmatch('a[]b]c').test('a]c')).toBe(true);
  });

  it('fullmatch anchors both ends, unlike re.search', () => {
    expect(fullmatch('q_proj').test('model.layers.0.self_attn.q_proj')).toBe(false);
    expect(fullmatch('q_proj|v_proj').test('q_proj')).toBe(true);
    expect(fullmatch('q_proj|v_proj').test('xq_proj')).toBe(false);
  });
});
