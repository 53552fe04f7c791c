package identitytoken_test

import (
	"fmt"
	"time"

	"github.com/cstar-chat/cstar/server/identitytoken"
)

// A site's backend signs a short-lived token for the user it has logged in and
// hands it to the page, which calls CStarChat.identify({token}).
func ExampleSign() {
	secret := []byte("team identity secret for this mode") // from "cstar teams create"; keep it server-side
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)    // time.Now() in real code

	token, err := identitytoken.Sign(secret, identitytoken.Claims{
		Subject: "user-42", // the site's own user id
		Email:   "ada@example.com",
		Name:    "Ada Lovelace",
	}, now)
	if err != nil {
		panic(err)
	}
	fmt.Println(token)
	// Output:
	// eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTQyIiwiZW1haWwiOiJhZGFAZXhhbXBsZS5jb20iLCJuYW1lIjoiQWRhIExvdmVsYWNlIiwiaWF0IjoxNzQ4Nzc5MjAwLCJleHAiOjE3NDg3ODI4MDB9.7s4awBiSMkJISmWCqFbYr6xoTLxrT1UM9qPkMXb1J24
}

// Sites that integrate the Intercom way send the user id with its hash:
// CStarChat.identify({userId, userHash}).
func ExampleUserHash() {
	fmt.Println(identitytoken.UserHash([]byte("team identity secret for this mode"), "user-42"))
	// Output:
	// 5aebd430a21674fcf0b725992a93da949d03af474a40c3e5de892a22bf446752
}
