# tests/vm/sdmode-emulate.sh — for systemd-mode.guest.sh with VM_EMULATE=1 only: does by hand,
# with busctl and systemctl, what cgrouparch's systemd mode is specified to do at each step of
# the scenario, instead of running cg-syncd and cg-taskd. It validates the scenario's checks
# themselves (that they can pass on this guest, and measure what they claim) independently of
# the C backend; it is never what the scenario's verdict on cgrouparch rests on.
sdbus() { busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager "$@" >/dev/null; }
emu_slice() { sdbus StartTransientUnit 'ssa(sv)a(sa(sv))' "$1" fail 1 CPUWeight t "$2" 0; }
# emu_scope UNIT PID SLICE: PID and its children (cg-taskd places a process with its descendants).
emu_scope() {
  local pids; pids=($2 $(pgrep -P "$2"))
  sdbus StartTransientUnit 'ssa(sv)a(sa(sv))' "$1" fail 2 PIDs au ${#pids[@]} "${pids[@]}" Slice s "$3" 0
}
emu_svc_slice() {
  if [ -n "$1" ]; then
    mkdir -p /run/systemd/system/cgtest-svc.service.d
    printf '[Service]\nSlice=%s\n' "$1" > /run/systemd/system/cgtest-svc.service.d/50-cgrouparch.conf
  else
    rm -rf /run/systemd/system/cgtest-svc.service.d
  fi
  systemctl daemon-reload && systemctl restart cgtest-svc.service
}
emu() {
  case $1 in
    start)
      emu_slice cgrouparch.slice 100
      emu_slice cgrouparch-a.slice 48; emu_slice cgrouparch-b.slice 97
      emu_slice cgrouparch-b-b_sub1.slice 9; emu_slice cgrouparch-b-b_sub2.slice 29
      emu_scope cgrouparch-a-w1.scope "$WA" cgrouparch-a.slice
      emu_scope cgrouparch-b-b_sub1-w1.scope "$WB1" cgrouparch-b-b_sub1.slice
      emu_svc_slice cgrouparch-b-b_sub2.slice ;;
    weight) systemctl set-property --runtime cgrouparch-a.slice CPUWeight=200 ;;
    bad) ;;
    remove) emu_svc_slice ""; systemctl stop cgrouparch-b-b_sub2.slice ;;
  esac
}
