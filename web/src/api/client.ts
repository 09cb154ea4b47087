// A thin JSON client for boocode's REST API. Errors keep the server's message (`{error: {message}}`), so
// the UI can show it as it is — never swallowed.

import type { ErrorResponse } from "./generated/types";

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  let resp: Response;
  try {
    resp = await fetch(path, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, `boocode is unreachable: ${String(e)}`);
  }
  const text = await resp.text();
  if (!resp.ok) throw failure(resp, text);
  return (text ? JSON.parse(text) : null) as T;
}

/** The server's message for a failed response (`{error: {message}}`), or the raw text. */
function failure(resp: Response, text: string): ApiError {
  let message = text || resp.statusText;
  try {
    message = (JSON.parse(text) as ErrorResponse).error.message;
  } catch {
    // Not our error shape: keep the raw text.
  }
  return new ApiError(resp.status, message);
}

export const get = <T>(path: string) => api<T>("GET", path);
export const post = <T>(path: string, body?: unknown) => api<T>("POST", path, body ?? {});
export const patch = <T>(path: string, body: unknown) => api<T>("PATCH", path, body);
export const del = <T>(path: string) => api<T>("DELETE", path);

/** A plain-text resource (a file's source); errors keep the server's message like `api`. */
export async function getText(path: string): Promise<string> {
  let resp: Response;
  try {
    resp = await fetch(path);
  } catch (e) {
    throw new ApiError(0, `boocode is unreachable: ${String(e)}`);
  }
  const text = await resp.text();
  if (!resp.ok) throw failure(resp, text);
  return text;
}
