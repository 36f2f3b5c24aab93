// The page's calls to the service: JSON and multipart requests, with the API's own error message.

/** An error the service answered with: its status, code and message, shown to the user as-is. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function failure(res: Response): Promise<ApiError> {
  try {
    const body = await res.json();
    const e = body?.error;
    if (e?.message)
      return new ApiError(res.status, String(e.code ?? res.status), String(e.message));
  } catch {
    // not JSON: fall through
  }
  return new ApiError(res.status, String(res.status), `${res.status} ${res.statusText}`);
}

export async function getJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, init);
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

/** POSTs one image as multipart field "image". */
export async function postImage<T>(path: string, image: Blob, name: string): Promise<T> {
  const body = new FormData();
  body.append("image", image, name);
  const res = await fetch(path, { method: "POST", body });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

export interface Neighbour {
  label: string;
  similarity: number;
  referenceId: number;
  level: number;
  image?: string;
}

export interface ClassifyAnswer {
  label: string;
  similarity: number;
  topK: Neighbour[];
  unknown?: boolean;
  model: { name: string; version: string };
  references: { version: string; level: number };
}

export interface PredictAnswer {
  label: string;
  probabilities: Record<string, number>;
  unknown?: boolean;
  model: { name: string; version: string };
}

export interface ExplainAnswer {
  model: { name: string; version: string };
  references: { version: string };
  preprocessing: { inverted: boolean; framed: boolean };
  input: { width: number; height: number; channels: number; png: string };
  levels: { level: number; label: string; similarity: number; neighbours: Neighbour[] }[];
}

export interface ReferencesInfo {
  version: string;
  generation: number;
  etag: string;
  loadedAt: string;
  embedder: { name: string; version: string | null };
  data: unknown;
  classes: string[];
  shape: [number, number, number];
  defaultLevel: number | null;
  levels: { level: number; count: number; perClass: Record<string, number>; sheet: string }[];
  metrics: Record<string, unknown>;
  command: string | null;
  createdAt: string | null;
}
