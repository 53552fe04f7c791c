// Type declarations of the CStarChat global, defined by /widget/cstar-chat.js.

export interface Customer {
  id: string;
  email: string | null;
  name: string;
  externalId: string | null;
  createdAt: string;
  /** The customer proved the email is theirs (a link mailed to it, a signed token, the site's API). */
  emailVerified: boolean;
}

/**
 * An anonymous visitor: someone who wrote without signing in. The token that
 * proves it stays in localStorage; signing up, logging in or being identified
 * in the same browser moves the visitor's conversations into that customer.
 */
export interface Visitor {
  id: string;
  /** As the visitor typed it (unverified), or "". */
  name: string;
  /** The email the visitor typed: stored unverified, never used to find or merge anyone. */
  email: string | null;
  createdAt: string;
}

/** Every rejection: message is the server's error text. */
export interface CStarChatError extends Error {
  /** HTTP status; 0 for a network failure or a failed load. */
  status: number;
  /** Stable error code, such as "invalid", "unauthorized", "conflict", "rate_limited", "unavailable", "network". */
  code: string;
  /** The request field an "invalid" names, such as "email" or "password". */
  field?: string;
}

/** What the widget shows of the team: getSettings(). */
export interface WidgetSettings {
  team: { id: string; slug: string; name: string };
  /** "" when the team has not said. */
  availability: "online" | "away" | "";
  replyTime: "minutes" | "hours" | "day" | "";
  /** An https URL with {name} for an agent's name, or "". */
  avatarUrl: string;
}

/** A published Library article, as searchArticles() and getArticle() return it. */
export interface Article {
  id: string;
  title: string;
  slug: string;
  body: string;
  /** The matching passage, for a search hit ("" otherwise). */
  snippet: string;
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
  /** The panel opened: open(), toggle() or the launcher. */
  open: { message?: string };
  close: undefined;
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
  /** "hidden" or "none": no launcher button (open the panel with CStarChat.open()). */
  launcher?: "hidden" | "none";
  /** When the widget asks an anonymous visitor for an email: "before" the first message, "after" it (default), or "never". */
  askEmail?: "before" | "after" | "never";
}

// The methods are listed once, in wasm/jsbridge/methods.go, whose tests hold this interface to it.
export interface CStarChatAPI {
  /**
   * Resolves once the module runs, without waiting on the network. Calling it
   * loads the module (as any asynchronous method does); the synchronous
   * getters and on() work without it.
   */
  ready(): Promise<void>;
  /** Sets widget options; call it right after the script tag, before the page's load event. */
  init(options: WidgetOptions): CStarChatAPI;
  /** The widget options in effect: the tag's data-* attributes, overridden by init(). */
  options(): WidgetOptions;
  /** Opens the panel (the widget UI loads the module if needed); message prefills the composer. */
  open(opts?: { message?: string }): void;
  close(): void;
  toggle(): void;
  /** Synchronous: whether the panel is open. */
  isOpen(): boolean;
  /** Starts downloading the module (the widget calls it when the launcher is hovered or focused). */
  prefetch(): void;
  /** Synchronous: the anonymous visitor of this browser, once one has written; null when none (or signed in). */
  getVisitor(): Visitor | null;
  /** Stores the email an anonymous visitor typed, unverified (creating the visitor if needed). */
  setVisitorEmail(email: string): Promise<Visitor | null>;
  /** The team and what the widget's header shows of it (read once, when first asked). */
  getSettings(): Promise<WidgetSettings>;
  /** Searches the team's published Library articles (the public Library API); an empty query lists the newest. */
  searchArticles(query: string): Promise<Article[]>;
  getArticle(slug: string): Promise<Article>;
  /**
   * Asks for a password-reset link for the account with this email. Resolves
   * the same way whether such an account exists or not (the mail goes only to
   * an account's address); rejects with code "rate_limited" when this
   * address asked too often, "invalid" for a malformed email.
   */
  requestPasswordReset(email: string): Promise<void>;
  /**
   * Sets a new password with the token of a reset link (in the page's
   * fragment, #cstar_reset=…; the widget UI reads it by itself), ends every
   * session of the customer and signs this browser in. Rejects with code
   * "invalid" and field "token" for a used or expired link, field "password"
   * for a password the policy refuses.
   */
  resetPassword(token: string, password: string): Promise<Customer>;
  /**
   * Confirms the email of a verification link's token (#cstar_verify=…; the
   * widget UI reads it by itself); resolves with the customer it belongs to.
   * Rejects with code "invalid" for a used or expired link.
   */
  verifyEmail(token: string): Promise<Customer>;
  signup(input: { email: string; name: string; password: string }): Promise<Customer>;
  login(input: { email: string; password: string }): Promise<Customer>;
  /** Revokes the session on the server, then clears local state. */
  logout(): Promise<void>;
  /** Synchronous; correct before ready() from the persisted session. False for an anonymous visitor. */
  isIdentified(): boolean;
  /** The signed-in customer; null for an anonymous visitor (see getVisitor()). */
  getCustomer(): Customer | null;
  identify(input: { userId: string; email?: string; name?: string; userHash: string } | { token: string }): Promise<Customer>;
  /**
   * Sends a chat message (trimmed, 1 to 4000 characters; otherwise rejects
   * with code "invalid"); resolves with the stored message, once. While
   * offline, or while the server cannot store it (code "unavailable", also
   * raised as an error event), it waits in an outbox that survives reloads
   * and is sent again until it is stored. Only a refusal for good (such as
   * "invalid", "forbidden" or "too_large") rejects it. Without a signed-in
   * customer the first message creates an anonymous visitor (getVisitor()).
   * articles: the ids of the Library articles opened before writing, which
   * the agents see.
   */
  sendMessage(text: string, opts?: { articles?: string[] }): Promise<Message>;
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
  /** The SDK, defined by the loader tag: CStarChat.open(), window.CStarChat.open() alike. */
  var CStarChat: CStarChatAPI;
  interface Window {
    CStarChat: CStarChatAPI;
  }
  /** Fired on document once CStarChat is ready (for async/defer script tags). */
  interface DocumentEventMap {
    "cstarchat:ready": Event;
  }
}
