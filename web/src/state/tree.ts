// A chat's messages form a tree (each follows its `parent_id`); the chat shows one path, from its first
// message to the active leaf. Siblings are branches: regenerated replies and edited messages.

import type { Message } from "../api/generated/types";

/** Children of each parent (`""` for roots), oldest first. */
export type ChildIndex = Map<string, string[]>;

export function childIndex(messages: Record<string, Message>, ids: string[]): ChildIndex {
  const index: ChildIndex = new Map();
  for (const id of ids) {
    const m = messages[id];
    if (!m) continue;
    const key = m.parent_id ?? "";
    const list = index.get(key);
    if (list) list.push(id);
    else index.set(key, [id]);
  }
  return index;
}

/** The newest leaf under `id`, always taking the newest child. */
export function newestLeaf(index: ChildIndex, id: string): string {
  let at = id;
  for (let guard = 0; guard < 100000; guard++) {
    const kids = index.get(at);
    if (!kids || kids.length === 0) return at;
    at = kids[kids.length - 1];
  }
  return at;
}

/** The path to `leaf`, oldest first. Without a known leaf: the newest branch. */
export function activePath(messages: Record<string, Message>, ids: string[], leaf: string | null | undefined): Message[] {
  let at: string | null | undefined = leaf && messages[leaf] ? leaf : undefined;
  if (!at) {
    const roots = childIndex(messages, ids).get("");
    if (!roots || roots.length === 0) return [];
    at = newestLeaf(childIndex(messages, ids), roots[roots.length - 1]);
  }
  const path: Message[] = [];
  const seen = new Set<string>();
  while (at && messages[at] && !seen.has(at)) {
    seen.add(at);
    path.push(messages[at]);
    at = messages[at].parent_id;
  }
  return path.reverse();
}

/** Where `m` sits among its siblings: 1-based position, count, and the previous and next sibling. */
export interface SiblingInfo {
  index: number;
  count: number;
  prev: string | null;
  next: string | null;
}

export function siblingInfo(index: ChildIndex, m: Message): SiblingInfo {
  const sibs = index.get(m.parent_id ?? "") ?? [m.id];
  const at = Math.max(0, sibs.indexOf(m.id));
  return { index: at + 1, count: sibs.length, prev: sibs[at - 1] ?? null, next: sibs[at + 1] ?? null };
}
