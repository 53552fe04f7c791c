package jsbridge

// Where a method of the SDK is.
const (
	public     = iota // on window.CStarChat and in cstar-chat.d.ts: the module's, which the loader forwards or queues
	internal          // the module's, called by the loader alone
	loaderOnly        // the loader's alone, on window.CStarChat and in cstar-chat.d.ts
)

// method is one method of the CStarChat global or of the module behind it.
type method struct {
	name  string
	where int
	async bool // returns a Promise
}

// methods are the SDK's methods, listed here once: Attach binds the
// module's (TestAttachBindsTheModuleMethods checks which return a Promise),
// and TestLoaderMethods and TestDeclaredMethods hold js/cstar-chat.js and
// js/cstar-chat.d.ts to this list.
var methods = []method{
	{"ready", loaderOnly, true},
	{"init", loaderOnly, false},
	{"options", loaderOnly, false},
	{"open", loaderOnly, false},
	{"close", loaderOnly, false},
	{"toggle", loaderOnly, false},
	{"isOpen", loaderOnly, false},
	{"prefetch", loaderOnly, false},
	{"getVisitor", loaderOnly, false},
	{"setVisitorEmail", loaderOnly, true},
	{"getSettings", loaderOnly, true},
	{"searchArticles", loaderOnly, true},
	{"getArticle", loaderOnly, true},
	{"requestPasswordReset", loaderOnly, true},
	{"resetPassword", loaderOnly, true},
	{"verifyEmail", loaderOnly, true},
	{"signup", public, true},
	{"login", public, true},
	{"logout", public, true},
	{"identify", public, true},
	{"sendMessage", public, true},
	{"getMessages", public, true},
	{"isIdentified", public, false},
	{"getCustomer", public, false},
	{"on", public, false},
	{"unreadCount", public, false},
	{"markRead", public, false},
	{"setTyping", public, false},
	{"connectionState", public, false},
	{"pendingMessages", loaderOnly, false},
	{"reload", internal, false},
	{"wake", internal, false},
}
