import { createRawSnippet, type Snippet } from 'svelte'

/** A snippet rendering plain text, for components that take `children`. */
export function textSnippet(text: string): Snippet {
  return createRawSnippet(() => ({
    render: () => `<span>${text.replace(/[<&>]/g, (c) => `&#${c.charCodeAt(0)};`)}</span>`,
  }))
}
