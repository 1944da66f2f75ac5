// Messages between the extension and its webviews. Everything a webview sends is untrusted
// (it renders run outputs and user text), so each message is checked here before it is acted on.
import { z } from 'zod';
import { validateRunForm, type RunForm } from '../params';

export type Checked<T> = { ok: true; message: T } | { ok: false; reason: string };

const MAX_PATH_LENGTH = 4096;
const pathString = z.string().min(1).max(MAX_PATH_LENGTH);

const Ready = z.strictObject({ type: z.literal('ready') });
const Cancel = z.strictObject({ type: z.literal('cancel') });
const OpenFile = z.strictObject({ type: z.literal('openFile'), path: pathString });
const RefreshEnvironment = z.strictObject({ type: z.literal('refreshEnvironment') });
// The webview names an action by its index in the error the extension sent; it never supplies
// a file or a command itself.
const ErrorAction = z.strictObject({ type: z.literal('errorAction'), index: z.number().int().min(0).max(20) });
const RunShape = z.strictObject({ type: z.literal('run'), phase: z.union([z.literal(1), z.literal(2), z.literal(3)]), form: z.unknown() });
const FormChangedShape = z.strictObject({ type: z.literal('formChanged'), form: z.unknown() });

export type PreviewInbound =
  | { type: 'ready' }
  | { type: 'cancel' }
  | { type: 'openFile'; path: string }
  | { type: 'refreshEnvironment' }
  | { type: 'errorAction'; index: number }
  | { type: 'run'; phase: 1 | 2 | 3; form: RunForm }
  /** A well-formed run request whose form failed validation: answered with the reasons, never run. */
  | { type: 'runRejected'; errors: string[] }
  /** The user edited the form; `form` is null while it is not valid (then nothing is remembered). */
  | { type: 'formChanged'; form: RunForm | null };

const PreviewSimple = z.discriminatedUnion('type', [Ready, Cancel, OpenFile, RefreshEnvironment, ErrorAction]);

export function checkPreviewMessage(raw: unknown): Checked<PreviewInbound> {
  const run = RunShape.safeParse(raw);
  if (run.success) {
    const form = validateRunForm(run.data.form);
    if (!form.ok) return { ok: true, message: { type: 'runRejected', errors: form.errors.map((e) => e.message) } };
    return { ok: true, message: { type: 'run', phase: run.data.phase, form: form.value } };
  }
  const changed = FormChangedShape.safeParse(raw);
  if (changed.success) {
    const form = validateRunForm(changed.data.form);
    return { ok: true, message: { type: 'formChanged', form: form.ok ? form.value : null } };
  }
  const simple = PreviewSimple.safeParse(raw);
  if (simple.success) return { ok: true, message: simple.data };
  return { ok: false, reason: describe(raw) };
}

export type GalleryInbound = { type: 'ready' } | { type: 'refresh' } | { type: 'openFile'; path: string };

const Gallery = z.discriminatedUnion('type', [Ready, z.strictObject({ type: z.literal('refresh') }), OpenFile]);

export function checkGalleryMessage(raw: unknown): Checked<GalleryInbound> {
  const parsed = Gallery.safeParse(raw);
  return parsed.success ? { ok: true, message: parsed.data } : { ok: false, reason: describe(raw) };
}

function describe(raw: unknown): string {
  if (typeof raw !== 'object' || raw === null) return `not an object: ${typeof raw}`;
  const type = (raw as { type?: unknown }).type;
  return typeof type === 'string' ? `malformed or unknown message "${type.slice(0, 40)}"` : 'message without a type';
}
