package server

import (
	"fmt"

	"ssms.dev/ssms/internal/metrics"
	"ssms.dev/ssms/smp"
)

// counters are the server's aggregate counters, looked up once: a lookup
// by labels formats and locks, and every transmission counts.
type counters struct {
	reg      *metrics.Registry
	commands map[string]*metrics.Value
	messages *metrics.Value
}

var clientVerbs = []string{"Conn", "Send", "Sub", "Key", "Ack", "Hold", "Del", "invalid"}

func newCounters(reg *metrics.Registry) *counters {
	c := &counters{reg: reg, commands: map[string]*metrics.Value{}}
	for _, v := range clientVerbs {
		c.commands[v] = c.command(v)
	}
	c.messages = reg.Counter("smp_messages_total", "Messages accepted.")
	return c
}

func (c *counters) command(verb string) *metrics.Value {
	return c.reg.Counter("smp_commands_total", "Transmissions received, by command.", "command", verb)
}

// received counts a transmission by its command.
func (c *counters) received(cmd smp.Command) {
	verb := "invalid"
	switch cmd.(type) {
	case nil:
	case smp.Conn:
		verb = "Conn"
	case smp.Send:
		verb = "Send"
	case smp.Sub:
		verb = "Sub"
	case smp.Key:
		verb = "Key"
	case smp.Ack:
		verb = "Ack"
	case smp.Hold:
		verb = "Hold"
	case smp.Del:
		verb = "Del"
	default: // a server message from a client: rare, and answered ERR PROHIBITED
		c.command(fmt.Sprintf("%T", cmd)[len("smp."):]).Add(1)
		return
	}
	c.commands[verb].Add(1)
}

// refused counts an error response by its type.
func (c *counters) refused(e smp.ErrorType) {
	c.reg.Counter("smp_errors_total", "Error responses, by type.", "type", string(e)).Add(1)
}
