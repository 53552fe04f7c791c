// Package agent keeps a team's people who answer chats and manage the team:
// their accounts and roles, sign-in with an optional second factor, their
// sessions, invitations and saved replies.
package agent
