package server

import (
	"strings"
	"testing"

	"ssms.dev/ssms/internal/metrics"
	"ssms.dev/ssms/smp"
)

func TestCounters(t *testing.T) {
	reg := metrics.NewRegistry()
	c := newCounters(reg)
	for _, cmd := range []smp.Command{nil, smp.Conn{}, smp.Send{}, smp.Send{}, smp.Sub{}, smp.Key{}, smp.Ack{}, smp.Hold{}, smp.Del{}, smp.Msg{}} {
		c.received(cmd)
	}
	c.refused(smp.ErrAuth)
	c.messages.Add(1)
	text := reg.Text()
	for _, want := range []string{
		`smp_commands_total{command="invalid"} 1`, `smp_commands_total{command="Conn"} 1`,
		`smp_commands_total{command="Send"} 2`, `smp_commands_total{command="Sub"} 1`,
		`smp_commands_total{command="Key"} 1`, `smp_commands_total{command="Ack"} 1`,
		`smp_commands_total{command="Hold"} 1`, `smp_commands_total{command="Del"} 1`,
		`smp_commands_total{command="Msg"} 1`, `smp_errors_total{type="AUTH"} 1`, `smp_messages_total 1`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("missing %s in\n%s", want, text)
		}
	}
}
