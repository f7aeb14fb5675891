/**
 * Trainable full tensors beside LoRA, as PEFT has them: `modules_to_save` (a full copy of
 * a module, e.g. a classifier head, trained per adapter) and `bias` = 'all' | 'lora_only'.
 * Each is a copy of an initializer; the base model's own initializer is never written.
 * PEFT saves them as `base_model.model.<initializer name>` (it strips
 * `modules_to_save.<adapter>.` on save), so that is their name here too.
 */
import type { Model } from '../graph/model.js';
import type { LoraTarget } from '../graph/targets.js';
import { Tensor } from '../tensor/tensor.js';
import { modulesToSaveRegex, type LoraConfig } from './config.js';

/** initializer name → PEFT name. */
export const fullPeftName = (init: string) => `base_model.model.${init}`;

/** Initializer names the config makes fully trainable, in a stable order. */
export function fullTensorNames(model: Model, config: LoraConfig, adapted: readonly LoraTarget[]): string[] {
  const inits = model.ir.initializers;
  const names = new Set<string>();
  for (const m of config.modulesToSave ?? []) {
    const re = modulesToSaveRegex(m);
    const found = [...inits.keys()].filter((n) => n.includes('.') && re.test(n.slice(0, n.lastIndexOf('.'))));
    if (found.length === 0) {
      throw new Error(
        `LoraConfig.modules_to_save: no initializer belongs to a module '${m}' ` +
          `(looked for names like '<path>.${m}.weight'; exporters that renamed the weights, e.g. 'onnx::MatMul_12', hide them)`,
      );
    }
    found.forEach((n) => names.add(n));
  }
  if (config.bias === 'all') for (const n of inits.keys()) if (n.endsWith('.bias')) names.add(n);
  if (config.bias === 'lora_only') for (const t of adapted) if (inits.has(`${t.path}.bias`)) names.add(`${t.path}.bias`);
  for (const n of names) {
    const t = inits.get(n)!;
    if (t.dtype !== 'float32') throw new Error(`trainable tensor '${n}' is ${t.dtype}; only float32 initializers can be trained yet`);
  }
  return [...names].sort();
}

/** A device copy of an initializer that training may overwrite. */
export function trainableCopy(model: Model, name: string): Tensor {
  const t = model.ir.initializers.get(name)!;
  return model.backend.upload(new Tensor('float32', Float32Array.from(t.hostData<Float32Array>()), t.dims));
}
