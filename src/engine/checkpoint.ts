// Checkpoint folders a Hugging Face user recognises (config.json, model.safetensors, tokenizer.json,
// generation_config.json) plus trainer_state.{json,safetensors} for resuming. Saves are atomic.
//
// Save writes everything into a sibling temp folder, fsyncs it, then swaps it in with rename(2): readers see
// the old checkpoint or the new one, never a half-written one (an existing folder is moved aside first and
// removed after the swap, so a crash in between leaves `<dir>.old-*` next to the new folder, not a loss;
// recoverCheckpoint puts it back when the crash came between the two renames).
import { randomBytes } from 'node:crypto';
import { access, mkdir, open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCategory, RlmeshError } from '../errors.ts';
import type { LlamaConfig } from './config.ts';
import { paramSpecs, type NamedTensors } from './weights.ts';
import { decodeSafetensors, encodeSafetensors } from './safetensors.ts';
import { CharTokenizer } from './tokenizer.ts';
import {
  configJson, generationConfigJson, parseConfigJson, parseGenerationConfig, parseTrainerStateJson,
  tokenizerConfigJson, type GenerationConfig, type TrainerStateJson,
} from './checkpoint-files.ts';

/** Optimizer/curriculum/rng state for resuming training. */
export interface TrainerState extends TrainerStateJson {
  /** Optimizer moment tensors by name (the optimizer picks the names, e.g. `exp_avg.<param>`), float32. */
  moments: NamedTensors;
}

export interface Checkpoint {
  config: LlamaConfig;
  /** HF names and shapes, float32. */
  weights: NamedTensors;
  tokenizer: CharTokenizer;
  generation?: GenerationConfig;
  trainer?: TrainerState;
}

export const CheckpointFile = {
  config: 'config.json',
  weights: 'model.safetensors',
  tokenizer: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
  generation: 'generation_config.json',
  trainerJson: 'trainer_state.json',
  trainerTensors: 'trainer_state.safetensors',
} as const;

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Checks weights against the config: every expected tensor present with the expected shape, all values finite,
 * nothing unexpected. Errors name the tensor (field) and give expected vs actual.
 */
export function validateWeights(config: LlamaConfig, weights: NamedTensors, source = 'weights'): void {
  const expected = new Map(paramSpecs(config).flatMap((s) => s.pieces.map((p) => [p.hfName, p.hfShape] as const)));
  const fail = (name: string, message: string, details?: Record<string, unknown>) =>
    new RlmeshError(ErrorCategory.data, `${source}: tensor "${name}": ${message}`, { field: name, details });
  for (const [name, shape] of expected) {
    const t = weights.get(name);
    if (!t) throw fail(name, `missing (config.json expects shape ${shapeText(shape)})`, { expected: shape });
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw fail(name, `shape disagrees with config.json: expected ${shapeText(shape)}, actual ${shapeText(t.shape)}`, { expected: shape, actual: t.shape });
    }
    assertAllFinite(name, t.data, fail);
  }
  for (const name of weights.keys()) {
    if (expected.has(name)) continue;
    if (name === 'lm_head.weight' && config.tie_word_embeddings) continue; // some tied HF checkpoints still store it
    throw fail(name, 'not a parameter of this config (unexpected tensor)');
  }
}

function assertAllFinite(name: string, data: Float32Array, fail: (name: string, message: string) => RlmeshError): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw fail(name, `value ${data[i]} at flat index ${i} is not finite (NaN/Inf weights are refused)`);
  }
}

/**
 * Writes each file (its contents made just before its write, so one encoded tensor file is held at a time), then
 * flushes them all to disk together (one journal commit instead of one per file) before the caller renames the
 * folder into place.
 */
async function writeAllDurable(files: ReadonlyArray<readonly [string, () => string | Uint8Array]>): Promise<void> {
  const handles: FileHandle[] = [];
  let failure: unknown;
  try {
    for (const [file, contents] of files) {
      const fh = await open(file, 'w');
      handles.push(fh);
      await fh.writeFile(contents());
    }
    await Promise.all(handles.map((fh) => fh.sync()));
  } catch (e) {
    failure = e;
  }
  // Every handle is closed; a close error is reported only when nothing failed before it.
  const closed = await Promise.allSettled(handles.map((fh) => fh.close()));
  if (failure !== undefined) throw failure;
  const closeError = closed.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (closeError) throw closeError.reason;
}

const json = (v: unknown): string => JSON.stringify(v, null, 2) + '\n';

async function exists(p: string): Promise<boolean> {
  return access(p).then(() => true, () => false);
}

/** Writes a checkpoint folder atomically (see the top of this file). Weights are validated first. */
export async function saveCheckpoint(dir: string, checkpoint: Checkpoint): Promise<void> {
  const { config, weights, tokenizer, generation, trainer } = checkpoint;
  validateWeights(config, weights, 'saveCheckpoint');
  checkTokenizerFits(config, tokenizer, 'the tokenizer', ErrorCategory.config);
  const target = path.resolve(dir);
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = `${target}.tmp-${tag}`;
  await mkdir(path.dirname(target), { recursive: true });
  await mkdir(tmp);
  try {
    const files: Array<readonly [string, () => string | Uint8Array]> = [
      [CheckpointFile.config, () => json(configJson(config))],
      [CheckpointFile.weights, () => encodeSafetensors(weights, { format: 'pt' })],
      [CheckpointFile.tokenizer, () => json(tokenizer.toJSON())],
      [CheckpointFile.tokenizerConfig, () => json(tokenizerConfigJson(tokenizer, config.max_position_embeddings))],
      [CheckpointFile.generation, () => json(generationConfigJson(config, generation))],
    ];
    if (trainer) {
      const { moments, ...state } = trainer;
      parseTrainerStateJson(state, 'saveCheckpoint trainer'); // refuse what load would refuse
      files.push([CheckpointFile.trainerJson, () => json(state)], [CheckpointFile.trainerTensors, () => encodeSafetensors(moments, { format: 'pt' })]);
    }
    await writeAllDurable(files.map(([name, data]) => [path.join(tmp, name), data] as const));
    const old = `${target}.old-${tag}`;
    const hadOld = await exists(target);
    if (hadOld) await rename(target, old);
    await rename(tmp, target);
    if (hadOld) await rm(old, { recursive: true, force: true });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Puts back the checkpoint a save set aside when it was interrupted between its two renames: `dir` is missing and
 * `<dir>.old-*` holds the previous, complete checkpoint (the newest such folder is used). Set-aside folders next to
 * an existing `dir` (a save interrupted after its swap) are removed. Returns whether a checkpoint was put back.
 */
export async function recoverCheckpoint(dir: string): Promise<boolean> {
  const target = path.resolve(dir);
  const prefix = `${path.basename(target)}.old-`;
  let names: string[];
  try {
    names = (await readdir(path.dirname(target))).filter((n) => n.startsWith(prefix));
  } catch {
    return false; // no parent folder: nothing was ever saved here
  }
  if (names.length === 0) return false;
  const parent = path.dirname(target);
  const aside = names.map((n) => path.join(parent, n));
  let restored = false;
  if (!(await exists(target))) {
    // the newest set-aside folder (only one save runs at a time, so normally there is just one)
    const mtimes = await Promise.all(aside.map(async (p) => (await stat(p)).mtimeMs));
    const newest = mtimes.indexOf(Math.max(...mtimes));
    await rename(aside.splice(newest, 1)[0]!, target);
    restored = true;
  }
  for (const p of aside) await rm(p, { recursive: true, force: true });
  return restored;
}

async function readBytes(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    throw new RlmeshError(ErrorCategory.notFound, `cannot read ${file}: ${(e as Error).message}`, { field: path.basename(file), cause: e });
  }
}

async function readJson(file: string): Promise<unknown> {
  const text = (await readBytes(file)).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new RlmeshError(ErrorCategory.data, `${file}: not valid JSON (${(e as Error).message})`, { field: path.basename(file), cause: e });
  }
}

/**
 * The model's vocabulary is the tokenizer's and its special ids are the tokenizer's: sampling draws from every id of
 * the vocabulary (an id past the tokenizer cannot be decoded) and stops at the config's eos (another id than the
 * tokenizer's `<eos>` would never stop a completion).
 */
function checkTokenizerFits(config: LlamaConfig, tokenizer: CharTokenizer, where: string, category: ErrorCategory): void {
  if (config.vocab_size !== tokenizer.vocabSize) {
    throw new RlmeshError(category, `${where}: vocab_size ${config.vocab_size} is not the tokenizer's ${tokenizer.vocabSize} (a padded vocabulary is not supported)`, { field: 'vocab_size' });
  }
  const ids = [['bos_token_id', config.bos_token_id, tokenizer.bosId], ['eos_token_id', config.eos_token_id, tokenizer.eosId], ['pad_token_id', config.pad_token_id, tokenizer.padId]] as const;
  for (const [field, ours, theirs] of ids) {
    if (ours !== theirs) throw new RlmeshError(category, `${where}: ${field} ${ours} is not the tokenizer's ${theirs}`, { field });
  }
}

/** Loads and validates a checkpoint folder written by `saveCheckpoint` (or a compatible HF Llama folder). */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  const file = (name: string) => path.join(dir, name);
  if (!(await exists(dir))) throw new RlmeshError(ErrorCategory.notFound, `checkpoint folder ${dir} does not exist`, { field: 'dir' });
  const config = parseConfigJson(await readJson(file(CheckpointFile.config)), file(CheckpointFile.config));
  const tokenizer = CharTokenizer.fromJSON(await readJson(file(CheckpointFile.tokenizer)));
  checkTokenizerFits(config, tokenizer, `${file(CheckpointFile.config)} and tokenizer.json`, ErrorCategory.data);
  const { tensors: weights } = decodeSafetensors(await readBytes(file(CheckpointFile.weights)), file(CheckpointFile.weights));
  validateWeights(config, weights, file(CheckpointFile.weights));
  const checkpoint: Checkpoint = { config, weights, tokenizer };
  if (await exists(file(CheckpointFile.generation))) {
    checkpoint.generation = parseGenerationConfig(await readJson(file(CheckpointFile.generation)), file(CheckpointFile.generation));
  }
  if (await exists(file(CheckpointFile.trainerJson))) {
    const state = parseTrainerStateJson(await readJson(file(CheckpointFile.trainerJson)), file(CheckpointFile.trainerJson));
    const { tensors: moments } = decodeSafetensors(await readBytes(file(CheckpointFile.trainerTensors)), file(CheckpointFile.trainerTensors));
    for (const [name, t] of moments) {
      assertAllFinite(name, t.data, (n, m) => new RlmeshError(ErrorCategory.data, `${file(CheckpointFile.trainerTensors)}: tensor "${n}": ${m}`, { field: n }));
    }
    checkpoint.trainer = { ...state, moments };
  }
  return checkpoint;
}
