// A page script that uses every method of the CStarChat global, as a site
// would: TestTypings type-checks it with tsc --strict against
// js/cstar-chat.d.ts (and the global is named both ways).
import type { Article, CStarChatError, Message, Visitor, WidgetSettings } from "./cstar-chat";

CStarChat.init({ title: "Help", locale: "de", position: "left", launcher: "none", askEmail: "before" });
const opts = CStarChat.options();
const title: string | undefined = opts.title;

CStarChat.open();
CStarChat.open({ message: "About my order…" });
CStarChat.close();
CStarChat.toggle();
const open: boolean = CStarChat.isOpen();
CStarChat.prefetch();
const offOpen = CStarChat.on("open", (o) => console.log(o.message ?? "", open, title));
const offClose = CStarChat.on("close", () => offOpen());

const visitor: Visitor | null = CStarChat.getVisitor();
const identified: boolean = CStarChat.isIdentified();
const customer = CStarChat.getCustomer();
const unread: number = CStarChat.unreadCount();
const state: "connecting" | "open" | "closed" = CStarChat.connectionState();
const waiting = CStarChat.pendingMessages().map((p) => p.clientId + p.body);
CStarChat.markRead();
CStarChat.setTyping(true);

async function page(): Promise<void> {
  await CStarChat.ready();
  const s: WidgetSettings = await CStarChat.getSettings();
  const hits: Article[] = await CStarChat.searchArticles("reset password");
  const a: Article = await CStarChat.getArticle(hits[0]?.slug ?? s.team.slug);
  const sent: Message = await CStarChat.sendMessage("Hello", { articles: [a.id] });
  await CStarChat.setVisitorEmail("ann@example.com");
  const history: Message[] = await window.CStarChat.getMessages({ beforeSeq: sent.seq, limit: 20 });
  const c = await CStarChat.signup({ email: "ann@example.com", name: "Ann", password: "a long passphrase" });
  await CStarChat.login({ email: c.email ?? "", password: "a long passphrase" });
  await CStarChat.identify({ token: "eyJ…" });
  await CStarChat.identify({ userId: "42", userHash: "ab12" });
  await CStarChat.logout();
  await CStarChat.requestPasswordReset("ann@example.com");
  const reset = await CStarChat.resetPassword("cpr_…", "a new long passphrase");
  const verified: boolean = (await CStarChat.verifyEmail("cev_…")).emailVerified && reset.emailVerified;
  console.log(verified);
  console.log(history.length, visitor?.email, identified, customer?.id, unread, state, waiting, s.availability, offClose);
}

CStarChat.on("error", (e: CStarChatError) => console.log(e.code, e.status, e.field));
CStarChat.on("message", (m) => console.log(m.author.name));
page().catch((e: CStarChatError) => console.log(e.message));
