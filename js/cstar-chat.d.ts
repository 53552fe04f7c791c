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

export interface Author {
  /** "customer", "agent", "bot" or "system". */
  type: string;
  id: string | null;
  name: string;
}

/** A chat message, as stored by the server. */
export interface Message {
  id: string;
  ticketId: string;
  /** Increases by one per ticket, from 1, with no gaps. */
  seq: number;
  author: Author;
  body: string;
  /** The id the sending client gave it, if any. */
  clientId: string | null;
  /** RFC 3339 with milliseconds. */
  createdAt: string;
}

/** A message sent but not stored yet: it waits in the outbox and is sent again until it is. */
export interface PendingMessage {
  clientId: string;
  body: string;
}

/** A chat ticket as the ticket event reports it. */
export interface ChatTicket {
  id: string;
  status: string;
  lastSeq: number;
  customerReadSeq: number;
  agentReadSeq: number;
  createdAt: string;
  updatedAt: string;
}

export interface TypingEvent {
  ticketId: string;
  author: Author;
  /** false also when the indicator expired without a refresh. */
  typing: boolean;
}

export type ConnectionState = "connecting" | "open" | "closed";

export interface CStarChatEvents {
  ready: undefined;
  identified: Customer;
  logout: undefined;
  error: CStarChatError;
  /** Once per message id: replayed, live, and this customer's own once stored. */
  message: Message;
  typing: TypingEvent;
  /** The new unreadCount(). */
  unread: number;
  connection: ConnectionState;
  /** A ticket's status or read positions changed. */
  ticket: ChatTicket;
}

export type CStarChatEvent = keyof CStarChatEvents;

/** Options of the widget UI; each may also be a data-* attribute of the script tag. */
export interface WidgetOptions {
  /** "none": load no UI, the SDK only. */
  ui?: "none";
  title?: string;
  greeting?: string;
  /** #rrggbb */
  color?: string;
  position?: "left" | "right";
  /** en, de or es built in */
  locale?: string;
  launcher?: "hidden";
}

// The methods are listed once, in wasm/jsbridge/methods.go, whose tests hold this interface to it.
export interface CStarChatAPI {
  /** Resolves once the module runs and the saved session is restored. */
  ready(): Promise<void>;
  /** Sets widget options; call it right after the script tag, before the page's load event. */
  init(options: WidgetOptions): CStarChatAPI;
  /** The widget options in effect: the tag's data-* attributes, overridden by init(). */
  options(): WidgetOptions;
  signup(input: { email: string; name: string; password: string }): Promise<Customer>;
  login(input: { email: string; password: string }): Promise<Customer>;
  /** Revokes the session on the server, then clears local state. */
  logout(): Promise<void>;
  /** Synchronous; correct before ready() from the persisted session. */
  isIdentified(): boolean;
  getCustomer(): Customer | null;
  identify(input: { userId: string; email?: string; name?: string; userHash: string } | { token: string }): Promise<Customer>;
  /**
   * Sends a chat message (trimmed, 1 to 4000 characters; otherwise rejects
   * with code "invalid"); resolves with the stored message, once. While
   * offline, or while the server cannot store it (code "unavailable", also
   * raised as an error event), it waits in an outbox that survives reloads
   * and is sent again until it is stored. Only a refusal for good (such as
   * "invalid", "forbidden" or "too_large") rejects it.
   */
  sendMessage(text: string): Promise<Message>;
  /** Synchronous: the messages sent and not stored yet, oldest first (after a reload, those of the outbox). */
  pendingMessages(): PendingMessage[];
  /** A page of history, oldest first: the newest, or those before beforeSeq. */
  getMessages(opts?: { beforeSeq?: number; limit?: number; ticketId?: string }): Promise<Message[]>;
  /** Synchronous: messages from others after the customer's read position (0 before ready). */
  unreadCount(): number;
  /** Marks every message held as read, here at once and on the server. */
  markRead(): void;
  /** Call on input; sends true at most every 3 s, and false once. */
  setTyping(typing: boolean): void;
  connectionState(): ConnectionState;
  /** Returns the unsubscribe function. */
  on<E extends CStarChatEvent>(event: E, handler: (payload: CStarChatEvents[E]) => void): () => void;
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
