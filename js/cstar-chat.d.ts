// Type declarations of the CStarChat global, defined by /widget/cstar-chat.js.

export interface Customer {
  id: string;
  email: string | null;
  name: string;
  externalId: string | null;
  createdAt: string;
}

/** Every rejection: message is the server's error text. */
export interface CStarChatError extends Error {
  /** HTTP status; 0 for a network failure or a failed load. */
  status: number;
  /** Stable error code, such as "unauthorized" or "conflict". */
  code: string;
}

export type CStarChatEvent = "ready" | "identified" | "logout" | "error";

export interface CStarChatAPI {
  /** Resolves once the module runs and the saved session is restored. */
  ready(): Promise<void>;
  signup(input: { email: string; name: string; password: string }): Promise<Customer>;
  login(input: { email: string; password: string }): Promise<Customer>;
  /** Revokes the session on the server, then clears local state. */
  logout(): Promise<void>;
  /** Synchronous; correct before ready() from the persisted session. */
  isIdentified(): boolean;
  getCustomer(): Customer | null;
  identify(input: { userId: string; email?: string; name?: string; userHash: string } | { token: string }): Promise<Customer>;
  /** Returns the unsubscribe function. */
  on(event: CStarChatEvent, handler: (payload?: unknown) => void): () => void;
}

declare global {
  interface Window {
    CStarChat: CStarChatAPI;
  }
  /** Fired on document once CStarChat is ready (for async/defer script tags). */
  interface DocumentEventMap {
    "cstarchat:ready": Event;
  }
}
