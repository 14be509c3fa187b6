/**
 * `vitx export <model>`: build, load weights, optimize, apply a target profile, convert to fp16,
 * write ONNX (and its external data) atomically, summarize. A target whose lint reports errors
 * gets no file: the findings are listed on stderr, one per line, and the exit code is 1.
 */
import type { Command } from 'commander';
import { basename } from 'node:path';
import { getModel } from '../builders/registry.js';
import { exportModel, type ExportModelOptions, type ExportModelResult, LintError } from '../library.js';
import { loadWeights, parseCheckpointLayout, type WeightFlags } from './weights.js';
import { UsageError } from './errors.js';
import { countErrors, formatFinding, type TargetName } from '../targets/index.js';
import { checkOutputs, type OutputPath, writeAtomicMany } from './files.js';
import { sampleFiles } from '../quant/data.js';
import { formatExportSummary } from './summary.js';
import type { Io } from './main.js';
import { featuresOption, headOptions, numClassesOption, parseBatch, parseInputLayout, parseLayoutAlias, parseOpset, parsePostprocess, parsePrecision, parseSize, parseTarget } from './options.js';
import { hubEnv } from '../hub/env.js';
import { downloadPretrained } from '../hub/pretrained.js';
import { resolveModelName } from '../builders/pretrained.js';
import { progressBar } from '../hub/progress.js';
import { type Postprocess, type Preprocess, WrapError, wrapOnnx } from '../io-wrap/index.js';
import { finishInt8, formatInt8Report, type Int8Flags, int8Options, quantizeWithReport } from './quantize.js';
import { INT8_SOURCE } from '../quant/index.js';

interface ExportFlags extends WeightFlags, Partial<Int8Flags> {
  output?: string; opset?: number; batch: number | 'dynamic'; size?: [number, number];
  optimize: boolean; reparam: boolean; quiet?: boolean;
  dtype: 'fp32' | 'fp16' | 'int8'; io: 'fp32' | 'fp16'; target?: TargetName; externalData?: boolean;
  numClasses?: number; features?: string | boolean;
  pretrained?: boolean; preprocess?: boolean; inputLayout?: 'nhwc' | 'nchw'; postprocess?: Postprocess;
  /** Shorthand routed by value: image layout or checkpoint layout. */
  layout?: 'nhwc' | 'nchw' | 'official' | 'timm';
}

export class LintFailure extends Error {}

const EXAMPLES = `
Examples:
  vitx export nextvit_small.bd_in1k_384                             a pretrained tag: 384×384, its preprocessing in the metadata
  vitx export mobilevit_xxs -w ft10.safetensors                     a fine-tuned classifier: the head size comes from the checkpoint
  vitx export mobilevit_xxs -w ft10.safetensors --features 2,3,4    backbone feature maps (strides 8, 16, 32) for detection
  vitx export mobilevit_xxs -w ft10.safetensors --num-classes 0     the pooled embedding (output "embeddings")
`;

/**
 * The front door's export (library.ts). A target whose lint reports errors gets no file: the
 * findings are listed on stderr, one per line, and the exit code is 1.
 */
async function exportOrLintFailure(model: string, o: ExportModelOptions, io: Io): Promise<ExportModelResult> {
  try {
    return await usageOnWrapErrorAsync(() => exportModel(model, o));
  } catch (e) {
    if (!(e instanceof LintError)) throw e;
    for (const x of e.findings) io.err(`  ${formatFinding(x)}\n`);
    const errors = countErrors(e.findings);
    throw new LintFailure(`${model} does not pass the ${e.target} lint (${errors} error${errors === 1 ? '' : 's'} listed above); nothing written`);
  }
}

async function usageOnWrapErrorAsync<T>(f: () => Promise<T>): Promise<T> {
  try { return await f(); } catch (e) { throw e instanceof WrapError ? new UsageError(e.message) : e; }
}

/** A pre/postprocessing request the model cannot take is a usage mistake (exit 2). */
function usageOnWrapError<T>(f: () => T): T {
  try { return f(); } catch (e) { throw e instanceof WrapError ? new UsageError(e.message) : e; }
}

function parseDtype(v: string): 'fp32' | 'fp16' | 'int8' {
  if (v !== 'fp32' && v !== 'fp16' && v !== 'int8') throw new UsageError(`--dtype must be fp32 or fp16, got '${v}' (or int8, with --calibration)`);
  return v;
}

export function registerExport(program: Command, io: Io): void {
  int8Options(program
    .command('export')
    .description('export a model as an optimized ONNX file')
    .addHelpText('after', EXAMPLES)
    .argument('<model>', "model or pretrained tag, e.g. nextvit_small or nextvit_small.bd_in1k_384 (see 'vitx list [--pretrained]')")
    .option('-o, --output <file>', 'output path (default: <model>.onnx)')
    .option('-w, --weights <file>', 'checkpoint: .safetensors or PyTorch .pth/.pth.tar/.pt/.bin (read by content, never executed); default: deterministic init')
    .option('--checkpoint-key <key>', "entry of a PyTorch checkpoint holding the state dict (default as timm: state_dict_ema, model_ema, state_dict, model)")
    .option('--checkpoint-layout <official|timm>', "key layout of the checkpoint (default: detected; 'official': the authors' repository, remapped to timm's names)", parseCheckpointLayout)
    .option('--pretrained', "download the tag's timm checkpoint from the Hugging Face Hub (HF_ENDPOINT, HF_TOKEN, HF_HOME, HF_HUB_OFFLINE; cached like huggingface_hub)")
    .option('--preprocess', "input: a uint8 RGB image, scaled by 1/255 and normalized with the tag's mean/std inside the graph")
    .option('--input-layout <nhwc|nchw>', 'with --preprocess: image layout (default nhwc)', parseInputLayout)
    .option('--postprocess <softmax|topk=K>', "append Softmax (output 'probabilities') or the top K probabilities (outputs 'scores', 'indices' int64)", parsePostprocess)
    .option('--layout <nhwc|nchw|official|timm>', "shorthand: nhwc/nchw = --input-layout, official/timm = --checkpoint-layout", parseLayoutAlias)
    .option('--opset <n>', 'ONNX opset, 13…21 (default: the target\'s, 17)', parseOpset)
    .option('--batch <n|dynamic>', "static batch size or 'dynamic'", parseBatch, 1)
    .option('--size <H|HxW>', 'input size (default: the pretrained tag\'s)', parseSize)
    .addOption(numClassesOption())
    .addOption(featuresOption())
    .option('--no-optimize', 'write the train-time graph as built (no passes)')
    .option('--no-reparam', 'keep BatchNorms and multi-branch blocks (clean-up passes only)')
    .option('--dtype <fp32|fp16|int8>', 'weights and compute precision (int8: static QDQ, needs --calibration)', parseDtype, 'fp32')
    .option('--io <fp32|fp16>', 'input/output element type with --dtype fp16', parsePrecision('--io'), 'fp32')
    .option('--target <name>', 'deployment profile and lint: ort, tensorrt, coreml, web', parseTarget)
    .option('--external-data', 'weights in <output>.data next to the .onnx (automatic above 2 GB)')
    .option('-q, --quiet', 'print nothing on success'))
    .action(async (model: string, f: ExportFlags) => {
      const t0 = performance.now();
      const named = resolveModelName(model); // an unknown model or tag is a usage error before anything is read
      const spec = getModel(named.arch);
      const output = f.output ?? `${model}.onnx`;
      const { features } = headOptions(f);
      if (features && f.postprocess) throw new UsageError('--postprocess needs a classifier; it does not apply to --features');
      if (!output.endsWith('.onnx')) throw new UsageError(`output file must end in .onnx: ${output}`);
      if (f.io === 'fp16' && f.dtype !== 'fp16') throw new UsageError('--io fp16 needs --dtype fp16');
      if (f.pretrained && f.weights) throw new UsageError('--pretrained and --weights are exclusive: --pretrained downloads the tag\'s checkpoint');
      if (f.layout) { if (f.layout === 'nhwc' || f.layout === 'nchw') f.inputLayout ??= f.layout; else f.checkpointLayout ??= f.layout; }
      if (f.inputLayout && !f.preprocess) throw new UsageError('--input-layout needs --preprocess');
      const int8 = f.dtype === 'int8';
      if (int8 && !f.calibration) throw new UsageError('--dtype int8 needs --calibration <folder of photos | file.npy>');
      if (!int8 && (f.calibration || f.eval)) throw new UsageError('--calibration and --eval go with --dtype int8');
      if (int8 && (f.target === 'coreml')) throw new UsageError('--dtype int8 supports --target ort, web or tensorrt');
      if (int8 && f.externalData) throw new UsageError('--dtype int8 writes one file; --external-data is not supported with it');
      const preprocess: Preprocess | undefined = f.preprocess ? { layout: f.inputLayout ?? 'nhwc' } : undefined; // mean/std: the tag's, as the graph records them
      const dataPath = `${output}.data`;
      // no output may replace an input or another output (checked as files: links and aliases too)
      const outputs: OutputPath[] = [['-o', output], ['its external data file', dataPath], ['--json', f.json]];
      checkOutputs(outputs, [f.weights, ...(f.calibration ? sampleFiles(f.calibration) : []), ...(f.eval ? sampleFiles(f.eval) : [])]);
      let checkpointName = f.weights ? basename(f.weights) : undefined, weightsText = f.weights ? `weights ${f.weights}` : 'deterministic init';
      let weightsPath = f.weights;
      if (f.pretrained) {
        const bar = io.isTTY ? progressBar(`${named.cfg?.hf_hub_id ?? named.arch}`, io.err) : null;
        const got = await downloadPretrained(named, hubEnv(), bar?.update);
        bar?.done();
        weightsPath = got.path;
        checkOutputs(outputs, [got.path]);
        checkpointName = `hf-hub:${got.repo}/${got.filename}@${got.commit}`;
        weightsText = `weights ${got.repo} (${got.downloaded ? 'downloaded' : 'cached'}, commit ${got.commit.slice(0, 12)})`;
      }
      const loaded = loadWeights(spec.name, { ...f, weights: weightsPath });
      const r = await exportOrLintFailure(model, {
        weights: loaded, weightsName: checkpointName, numClasses: f.numClasses, features,
        opset: f.opset, batch: f.batch, size: f.size,
        optimize: f.optimize, reparam: f.reparam,
        dtype: f.dtype === 'int8' ? 'fp32' : f.dtype, io: f.io, target: int8 && !f.target ? 'ort' : f.target, externalData: int8 ? false : f.externalData ? true : 'auto', dataLocation: basename(dataPath),
        // --quantize-attention needs the score MatMuls as standard ops (not inside MultiHeadAttention)
        ...(int8 ? { ...INT8_SOURCE, ...(f.quantizeAttention ? { contribAttention: false } : {}) } : {}),
        // int8: the wraps go on after quantization (wrapOnnx), so calibration sees the float input
        preprocess: preprocess && !int8 ? preprocess : undefined,
        postprocess: int8 ? undefined : f.postprocess,
      }, io);
      // a wrap the model cannot take is a usage mistake before any calibration
      if (int8 && (preprocess || f.postprocess)) usageOnWrapError(() => wrapOnnx(r.bytes, { preprocess, postprocess: f.postprocess }));
      let int8Text = '';
      if (int8) {
        const q = await quantizeWithReport(r.bytes, f as Int8Flags, { profile: f.target === 'web' || f.target === 'tensorrt' ? f.target : 'ort', model, io });
        finishInt8(q.report, f as Int8Flags, output);
        r.bytes = q.bytes;
        if (preprocess || f.postprocess) ({ bytes: r.bytes, graph: r.graph } = wrapOnnx(q.bytes, { preprocess, postprocess: f.postprocess }));
        int8Text = formatInt8Report(q.report);
      }
      writeAtomicMany(r.external ? [[dataPath, r.external.data], [output, [r.bytes]]] : [[output, [r.bytes]]]);
      if (f.quiet) return;
      io.out(formatExportSummary(r, {
        output, dataPath, weightsText, weightsSummary: loaded?.summary, preprocess: Boolean(f.preprocess), optimize: f.optimize,
        io: f.io, targetNamed: Boolean(f.target), int8Text, seconds: (performance.now() - t0) / 1000,
      }));
    });
}
