// The plant editor's CodeMirror 6 view (its own chunk: loaded when the editor first opens).
// Lint markers come from the server's own validator (POST /api/plant/validate, the loader
// `twinverse serve` uses), so a marker says exactly what loading the file would say;
// completion offers the plant's type names, signal kinds, shapes and units.
import { autocompletion } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { yaml } from "@codemirror/lang-yaml";
import { defaultHighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { linter, lintGutter } from "@codemirror/lint";
import { EditorState } from "@codemirror/state";
import { EditorView, highlightActiveLine, keymap, lineNumbers } from "@codemirror/view";

/** Which vocabulary a value after `key:` completes from. */
const COMPLETES = { type: "types", kind: "kinds", shape: "shapes", unit: "units" };

/**
 * Build the editor in `parent`.
 * @param {HTMLElement} parent
 * @param {{text: string, vocabulary: Record<string, string[]>, validate: (text: string) => Promise<any>,
 *          onResult: (result: any, ms: number) => void}} opts
 */
export function createEditor(parent, { text, vocabulary, validate, onResult }) {
  let changedAt = performance.now();
  const serverLint = linter(
    async (view) => {
      const started = changedAt;
      const doc = view.state.doc;
      const result = await validate(doc.toString());
      onResult(result, performance.now() - started);
      return result.problems.map((p) => {
        const line = doc.line(Math.min(Math.max(p.line ?? 1, 1), doc.lines));
        return { from: line.from, to: Math.max(line.to, line.from), severity: "error", message: p.path ? `${p.path}: ${p.message}` : p.message };
      });
    },
    { delay: 300 },
  );
  const complete = (/** @type {any} */ ctx) => {
    const line = ctx.state.doc.lineAt(ctx.pos);
    const before = line.text.slice(0, ctx.pos - line.from);
    const m = /\b(type|kind|shape|unit):\s*([\w./%*-]*)$/.exec(before);
    if (!m) return null;
    const words = vocabulary[COMPLETES[m[1]]] ?? [];
    return { from: ctx.pos - m[2].length, options: words.map((w) => ({ label: w, type: m[1] === "type" ? "class" : "keyword" })) };
  };
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [
        lineNumbers(),
        highlightActiveLine(),
        history(),
        keymap.of([...defaultKeymap, ...historyKeymap]),
        yaml(),
        syntaxHighlighting(defaultHighlightStyle),
        lintGutter(),
        serverLint,
        autocompletion({ override: [complete] }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) changedAt = performance.now();
        }),
        EditorView.theme({ "&": { height: "100%", fontSize: "12px" }, ".cm-scroller": { overflow: "auto" } }),
      ],
    }),
  });
  return view;
}
