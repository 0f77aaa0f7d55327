// A client that keeps its connection alive with a gorilla ping ticker:
// protocol-level PING frames only (every 500 ms), never the text "ping".
// Prints how many PONGs came back, then the close code and reason.
// Run by test/e2e/other-language-clients.test.ts: TOKEN=… go run protocol_ping_only.go ws://…/ws
package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

func main() {
	header := http.Header{"Authorization": {"Bearer " + os.Getenv("TOKEN")}}
	dialer := websocket.Dialer{Subprotocols: []string{"userhub.v1"}, HandshakeTimeout: 10 * time.Second}
	conn, _, err := dialer.Dial(os.Args[1], header)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer conn.Close()
	var pongs atomic.Int64
	conn.SetPongHandler(func(string) error { pongs.Add(1); return nil })
	go func() {
		for range time.Tick(500 * time.Millisecond) {
			if conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second)) != nil {
				return
			}
		}
	}()
	for {
		_, data, err := conn.ReadMessage()
		var closed *websocket.CloseError
		if errors.As(err, &closed) {
			fmt.Printf("pongs %d\n", pongs.Load())
			fmt.Printf("closed %d %s\n", closed.Code, closed.Text)
			return
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(string(data))
	}
}
