/**
 * The one way the viewer builds HTML: the `html` tagged template escapes every interpolated value unless
 * it is already Html (built by this module), so text from datasets, models and configs is always text.
 */

/** A fragment of markup that is safe to emit as is: only this module's functions make one. */
export class Html {
  /** Wraps markup; use only for strings this module wrote itself. */
  private constructor(readonly markup: string) {}

  /** Markup written by the viewer's own code (never data): constant tags, attributes, CSS. */
  static trusted(markup: string): Html {
    return new Html(markup);
  }

  toString(): string {
    return this.markup;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Escapes text for an HTML element body or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]);
}

/** What may be interpolated: text (escaped), numbers, Html fragments, lists of them; null/undefined/false render nothing. */
export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

/** Renders one interpolated value: Html as is, everything else as escaped text. */
export function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.markup;
  if (Array.isArray(value)) return value.map((v: HtmlValue) => render(v)).join('');
  return escapeHtml(String(value));
}

/** Tagged template: the literal parts are markup, every `${value}` is escaped unless it is Html. */
export function html(parts: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = parts[0];
  values.forEach((v, i) => {
    out += render(v) + parts[i + 1];
  });
  return Html.trusted(out);
}

/** Joins fragments with a separator (the separator is markup). */
export function join(items: readonly HtmlValue[], separator = ''): Html {
  return Html.trusted(items.map((v) => render(v)).join(separator));
}

/** A URL path with query parameters; empty and undefined parameters are left out. The result is text, escape it on output. */
export function href(path: string, params: Record<string, string | number | boolean | undefined | null> = {}): string {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '' && v !== false) query.set(k, String(v));
  const q = query.toString();
  return q ? `${path}?${q}` : path;
}

/** Path segment of an id in the viewer's URLs (ids may contain '/', as job ids do). */
export function seg(id: string): string {
  return encodeURIComponent(id);
}

/** A link whose target and text are both escaped; `href` of http(s) or a path only. */
export function link(target: string, text: HtmlValue, attrs: { className?: string; external?: boolean } = {}): Html {
  const safe = /^(https?:\/\/|\/)/.test(target) ? target : '#';
  const rel = attrs.external ? html` target="_blank" rel="noopener noreferrer"` : '';
  const cls = attrs.className ? html` class="${attrs.className}"` : '';
  return html`<a href="${safe}"${cls}${rel}>${text}</a>`;
}

/** A table from a header and rows of cells (cells are HtmlValues, escaped unless Html). */
export function table(header: readonly HtmlValue[], rows: readonly (readonly HtmlValue[])[], attrs: { id?: string; className?: string } = {}): Html {
  const head = header.map((h) => html`<th>${h}</th>`);
  const body = rows.map((r) => html`<tr>${r.map((c) => html`<td>${c}</td>`)}</tr>`);
  const id = attrs.id ? html` id="${attrs.id}"` : '';
  return html`<table${id} class="${attrs.className ?? 'grid'}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** Preformatted text (prompts, predictions, JSON), escaped. */
export function pre(text: string, className = 'text'): Html {
  return html`<pre class="${className}">${text}</pre>`;
}
