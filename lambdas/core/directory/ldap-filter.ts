// Builds the user search filter from the configured template. Every value that enters a
// filter goes through escapeFilterValue (RFC 4515), so user input can never change the
// filter's structure.

export const USERNAME_PLACEHOLDER = '{username}';

/**
 * RFC 4515 escaping of an assertion value: `*`, `(`, `)`, `\` and NUL become `\2a`, `\28`,
 * `\29`, `\5c`, `\00`. Other characters, non-ASCII included, stay as they are: RFC 4515
 * allows UTF-8 there, and ldapts decodes each `\xx` escape as one Latin-1 character, so
 * hex-escaping the bytes of a multi-byte character would corrupt it.
 */
export function escapeFilterValue(value: string): string {
  let escaped = '';
  for (const char of value) {
    switch (char) {
      case '*':
        escaped += '\\2a';
        break;
      case '(':
        escaped += '\\28';
        break;
      case ')':
        escaped += '\\29';
        break;
      case '\\':
        escaped += '\\5c';
        break;
      case '\0':
        escaped += '\\00';
        break;
      default:
        escaped += char;
    }
  }
  return escaped;
}

/** Replaces every `{username}` in the template with the escaped username. */
export function buildUserFilter(template: string, username: string): string {
  return template.split(USERNAME_PLACEHOLDER).join(escapeFilterValue(username));
}

/**
 * Why a configured filter template is unusable, or undefined when it is fine. Checked once at
 * start-up so that a typo stops the process instead of failing every login.
 */
export function describeFilterTemplateProblem(template: string): string | undefined {
  if (!template.includes(USERNAME_PLACEHOLDER)) return `must contain ${USERNAME_PLACEHOLDER}`;
  return describeFilterProblem(template);
}

/** Why a configured fixed filter (no placeholder) is unusable, or undefined when it is fine. */
export function describeFilterProblem(template: string): string | undefined {
  if (!template.startsWith('(') || !template.endsWith(')')) return 'must be enclosed in parentheses';
  let depth = 0;
  for (let index = 0; index < template.length; index += 1) {
    const char = template[index];
    if (char === '\\') {
      index += 2;
      continue;
    }
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (depth < 0) return 'has a ")" without a matching "("';
    if (depth === 0 && index < template.length - 1) {
      return template[index + 1] === ')'
        ? 'has a ")" without a matching "("'
        : 'must be a single filter (wrap several in (&...) or (|...))';
    }
  }
  if (depth !== 0) return 'has unbalanced parentheses';
  return undefined;
}
