# caps.sh - the least capabilities, sourced by run.sh: the agent is run with exactly the
# capabilities the Helm chart grants for its mode (helm/ticktap/templates/_helpers.tpl,
# ticktap.capabilities), as a container gets them (setpriv: the bounding set, nothing
# inherited), and then with each one taken away: with all it attaches, without any one it
# stops with a line that says what is missing. A veth pair in namespaces of its own.
if ! command -v setpriv > /dev/null; then
    skip "least capabilities" "setpriv (util-linux) is not installed"
elif ! ip netns add $CA || ! ip netns add $CB; then
    skip "least capabilities" "cannot create network namespaces"
else
    section "least capabilities: the chart's set is enough, each one of it is needed"
    ip link add vk netns $CA type veth peer name vk netns $CB
    ip -n $CA link set vk up; ip -n $CB link set vk up
    declare -A NEED=([host]="bpf net_admin perfmon" [tap]="bpf net_admin perfmon net_raw ipc_lock")
    declare -A SAYS=([bpf]="CAP_BPF" [net_admin]="CAP_NET_ADMIN" [perfmon]="CAP_PERFMON"
                     [net_raw]="CAP_NET_RAW" [ipc_lock]="CAP_IPC_LOCK")
    for mode in host tap; do
        printf 'capture:\n  interfaces:\n    - name: vk\n      mode: %s\n' $mode > "$WORK/caps.$mode.yaml"
        with_caps() { # CAPS... : the agent for a second with only these
            local set=-all
            for c in "$@"; do set="$set,+$c"; done
            ip netns exec $CB setpriv --bounding-set=$set --inh-caps=-all \
                "$TT" run -q -c "$WORK/caps.$mode.yaml" -d 1 > "$WORK/caps.out" 2>&1
        }
        # shellcheck disable=SC2086
        with_caps ${NEED[$mode]}; rc=$?
        check "$mode mode runs with exactly ${NEED[$mode]// /, }" bash -c \
            "test $rc -eq 0 && grep -q '$mode mode' '$WORK/caps.out'" || sed 's/^/       /' "$WORK/caps.out"
        for drop in ${NEED[$mode]}; do
            # shellcheck disable=SC2046
            with_caps $(for c in ${NEED[$mode]}; do [ $c = $drop ] || echo $c; done); rc=$?
            if [ $rc -eq 2 ] && grep -q "${SAYS[$drop]}\|ulimit -l" "$WORK/caps.out"; then
                ok "$mode mode without $drop: exit 2, and the line names it"
            else
                bad "$mode mode without $drop: exit $rc: $(head -c 200 "$WORK/caps.out")"
            fi
        done
    done
    ip netns del $CA; ip netns del $CB
fi
