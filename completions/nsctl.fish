# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_nsctl_global_optspecs
    string join \n json h/help V/version
end

function __fish_nsctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_nsctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_nsctl_using_subcommand
    set -l cmd (__fish_nsctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c nsctl -n "__fish_nsctl_needs_command" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_needs_command" -s h -l help -d 'Print help'
complete -c nsctl -n "__fish_nsctl_needs_command" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "list" -d 'List network namespaces, the root namespace first'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "add" -d 'Add a network namespace and print its object path'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "delete" -d 'Delete a network namespace'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "del" -d 'Delete a network namespace'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "remove" -d 'Delete a network namespace'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "show" -d 'Show one network namespace'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "attach" -d 'Give a running process\'s network namespace a name'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "exec" -d 'Run a program in a namespace, as yourself, and wait for it'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "uplink" -d 'Set or clear the uplink of a namespace: a routed veth with NAT, or a macvlan'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "dns" -d 'Set or clear the name servers of a namespace'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "forward" -d 'Port forwards from the host into a namespace: add, list, del'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "device" -d 'Devices: list them, show one, move one into another namespace'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "link" -d 'Links: add veth pairs, macvlans, bridges and VLANs; delete; set up, down, MTU, name'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "addr" -d 'IP addresses: add and delete'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "address" -d 'IP addresses: add and delete'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "route" -d 'Routes: add, delete, list'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "rule" -d 'Policy-routing rules: add, delete, list'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "connection" -d 'Connection profiles: list, show, add, import, modify, delete, reload'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "con" -d 'Connection profiles: list, show, add, import, modify, delete, reload'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "vpn" -d 'VPNs: bring one up or down, show the active ones'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "reload" -d 'Read the declared namespaces\' files again and apply them'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "dispatcher" -d 'List the dispatcher scripts, and whether each runs'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "desktop-entry" -d 'Write a menu entry that runs a program in a VPN\'s namespace'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "monitor" -d 'Print netnsd\'s changes as they happen, one line each'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "graph" -d 'Draw namespaces, devices, veth pairs, uplinks, tunnels and VPNs (Graphviz)'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "generate-man" -d 'Write the man pages (nsctl.1, nsctl-SUBCOMMAND.1) into DIR'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "generate-completions" -d 'Print the shell completion script for SHELL'
complete -c nsctl -n "__fish_nsctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand list" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand list" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand add" -l uplink -d 'Give the namespace an uplink: a routed veth with NAT, or a macvlan' -r -f -a "none\t'No uplink: only loopback (the default)'
veth\t'A veth pair to --uplink-netns, routed, with NAT there'
macvlan\t'A macvlan on --uplink-parent, with --address and --gateway'"
complete -c nsctl -n "__fish_nsctl_using_subcommand add" -l uplink-netns -d 'Namespace that holds the host end of the veth, or the macvlan\'s parent (default rootns)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand add" -l uplink-parent -d 'macvlan: the parent device, by its interface name in --uplink-netns' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand add" -l address -d 'macvlan: the namespace\'s address on the macvlan, as CIDR (192.0.2.10/24)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand add" -l gateway -d 'macvlan: the default gateway, of the family of --address' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand add" -l dns -d 'Name server for the namespace\'s resolv.conf; repeat for more' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand add" -l dns-search -d 'Search domain for the namespace\'s resolv.conf; repeat for more' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand add" -l no-ipv6 -d 'veth: IPv4 only (by default the veth has IPv6 addresses and a default route as well)'
complete -c nsctl -n "__fish_nsctl_using_subcommand add" -l dhcp -d 'macvlan: address, gateway and DNS by DHCPv4 instead of --address and --gateway; waits for the lease (10 s at most)'
complete -c nsctl -n "__fish_nsctl_using_subcommand add" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand add" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand delete" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand delete" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand del" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand del" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand del" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand remove" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand remove" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand show" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand show" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand attach" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand attach" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand attach" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand exec" -l vpn -d 'Run in the namespace of VPN profile PROFILE, brought up first if it is not (instead of NS)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand exec" -s e -l env -d 'Pass VAR from nsctl\'s environment, or set VAR to VALUE; repeat for more' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand exec" -l cwd -d 'Working directory of the program (default: nsctl\'s current directory)' -r -F
complete -c nsctl -n "__fish_nsctl_using_subcommand exec" -l no-pty -d 'Pass nsctl\'s own stdin, stdout and stderr even when they are a terminal'
complete -c nsctl -n "__fish_nsctl_using_subcommand exec" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand exec" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand exec" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand uplink; and not __fish_seen_subcommand_from set clear help" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand uplink; and not __fish_seen_subcommand_from set clear help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand uplink; and not __fish_seen_subcommand_from set clear help" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand uplink; and not __fish_seen_subcommand_from set clear help" -f -a "set" -d 'Give a namespace an uplink, replacing the one it has'
complete -c nsctl -n "__fish_nsctl_using_subcommand uplink; and not __fish_seen_subcommand_from set clear help" -f -a "clear" -d 'Take a namespace\'s uplink away'
complete -c nsctl -n "__fish_nsctl_using_subcommand uplink; and not __fish_seen_subcommand_from set clear help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand uplink; and __fish_seen_subcommand_from set" -l type -d 'The kind of uplink' -r -f -a "veth\t'A veth pair to --uplink-netns, routed, with NAT there'
macvlan\t'A macvlan on --uplink-parent, with --address and --gateway'"
complete -c nsctl -n "__fish_nsctl_using_subcommand uplink; and __fish_seen_subcommand_from set" -l uplink-netns -d 'Namespace that holds the host end of the veth, or the macvlan\'s parent (default rootns)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand uplink; and __fish_seen_subcommand_from set" -l uplink-parent -d 'macvlan: the parent device, by its interface name in --uplink-netns' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand uplink; and __fish_seen_subcommand_from set" -l address -d 'macvlan: the namespace\'s address on the macvlan, as CIDR (192.0.2.10/24)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand uplink; and __fish_seen_subcommand_from set" -l gateway -d 'macvlan: the default gateway, of the family of --address' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand uplink; and __fish_seen_subcommand_from set" -l no-ipv6 -d 'veth: IPv4 only (by default the veth has IPv6 addresses and a default route as well)'
complete -c nsctl -n "__fish_nsctl_using_subcommand uplink; and __fish_seen_subcommand_from set" -l dhcp -d 'macvlan: address, gateway and DNS by DHCPv4 instead of --address and --gateway; waits for the lease (10 s at most)'
complete -c nsctl -n "__fish_nsctl_using_subcommand uplink; and __fish_seen_subcommand_from set" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand uplink; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand uplink; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand uplink; and __fish_seen_subcommand_from clear" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand uplink; and __fish_seen_subcommand_from clear" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand uplink; and __fish_seen_subcommand_from clear" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand uplink; and __fish_seen_subcommand_from help" -f -a "set" -d 'Give a namespace an uplink, replacing the one it has'
complete -c nsctl -n "__fish_nsctl_using_subcommand uplink; and __fish_seen_subcommand_from help" -f -a "clear" -d 'Take a namespace\'s uplink away'
complete -c nsctl -n "__fish_nsctl_using_subcommand uplink; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand dns; and not __fish_seen_subcommand_from set clear help" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand dns; and not __fish_seen_subcommand_from set clear help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand dns; and not __fish_seen_subcommand_from set clear help" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand dns; and not __fish_seen_subcommand_from set clear help" -f -a "set" -d 'Set the name servers and search domains of a namespace'
complete -c nsctl -n "__fish_nsctl_using_subcommand dns; and not __fish_seen_subcommand_from set clear help" -f -a "clear" -d 'Remove a namespace\'s DNS settings'
complete -c nsctl -n "__fish_nsctl_using_subcommand dns; and not __fish_seen_subcommand_from set clear help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand dns; and __fish_seen_subcommand_from set" -l server -d 'Name servers, in order; repeat the option or separate them with commas' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand dns; and __fish_seen_subcommand_from set" -l search -d 'Search domains, in order; repeat the option or separate them with commas' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand dns; and __fish_seen_subcommand_from set" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand dns; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand dns; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand dns; and __fish_seen_subcommand_from clear" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand dns; and __fish_seen_subcommand_from clear" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand dns; and __fish_seen_subcommand_from clear" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand dns; and __fish_seen_subcommand_from help" -f -a "set" -d 'Set the name servers and search domains of a namespace'
complete -c nsctl -n "__fish_nsctl_using_subcommand dns; and __fish_seen_subcommand_from help" -f -a "clear" -d 'Remove a namespace\'s DNS settings'
complete -c nsctl -n "__fish_nsctl_using_subcommand dns; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and not __fish_seen_subcommand_from add list ls del delete remove help" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and not __fish_seen_subcommand_from add list ls del delete remove help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and not __fish_seen_subcommand_from add list ls del delete remove help" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and not __fish_seen_subcommand_from add list ls del delete remove help" -f -a "add" -d 'Forward a port of the host to a namespace'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and not __fish_seen_subcommand_from add list ls del delete remove help" -f -a "list" -d 'List port forwards, of one namespace or of all'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and not __fish_seen_subcommand_from add list ls del delete remove help" -f -a "ls" -d 'List port forwards, of one namespace or of all'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and not __fish_seen_subcommand_from add list ls del delete remove help" -f -a "del" -d 'Remove a port forward'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and not __fish_seen_subcommand_from add list ls del delete remove help" -f -a "delete" -d 'Remove a port forward'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and not __fish_seen_subcommand_from add list ls del delete remove help" -f -a "remove" -d 'Remove a port forward'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and not __fish_seen_subcommand_from add list ls del delete remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from add" -l proto -d 'tcp or udp' -r -f -a "tcp\t''
udp\t''"
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from add" -l host-port -d 'The port of the host (1-65535)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from add" -l host-address -d 'Only this address of the host (IPv4 or IPv6; default: all of its addresses)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from add" -l port -d 'The port in the namespace (default: --host-port)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from add" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from list" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from ls" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from ls" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from del" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from del" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from del" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from delete" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from remove" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from help" -f -a "add" -d 'Forward a port of the host to a namespace'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from help" -f -a "list" -d 'List port forwards, of one namespace or of all'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from help" -f -a "del" -d 'Remove a port forward'
complete -c nsctl -n "__fish_nsctl_using_subcommand forward; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and not __fish_seen_subcommand_from list show take help" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and not __fish_seen_subcommand_from list show take help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and not __fish_seen_subcommand_from list show take help" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and not __fish_seen_subcommand_from list show take help" -f -a "list" -d 'List devices, of one namespace or of all'
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and not __fish_seen_subcommand_from list show take help" -f -a "show" -d 'Show one device'
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and not __fish_seen_subcommand_from list show take help" -f -a "take" -d 'Move a device into another namespace'
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and not __fish_seen_subcommand_from list show take help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and __fish_seen_subcommand_from list" -s a -l all -d 'Include loopback and other internal devices'
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and __fish_seen_subcommand_from list" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and __fish_seen_subcommand_from show" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and __fish_seen_subcommand_from show" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and __fish_seen_subcommand_from take" -l to -d 'Namespace to move the device into, by name' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and __fish_seen_subcommand_from take" -l from -d 'Namespace that holds the device now, where DEV is looked up by name' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and __fish_seen_subcommand_from take" -l timeout -d 'How long netnsd waits for the device to appear in the target namespace' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and __fish_seen_subcommand_from take" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and __fish_seen_subcommand_from take" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and __fish_seen_subcommand_from take" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and __fish_seen_subcommand_from help" -f -a "list" -d 'List devices, of one namespace or of all'
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one device'
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and __fish_seen_subcommand_from help" -f -a "take" -d 'Move a device into another namespace'
complete -c nsctl -n "__fish_nsctl_using_subcommand device; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and not __fish_seen_subcommand_from add delete del remove set help" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and not __fish_seen_subcommand_from add delete del remove set help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and not __fish_seen_subcommand_from add delete del remove set help" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and not __fish_seen_subcommand_from add delete del remove set help" -f -a "add" -d 'Add a link: veth, macvlan, bridge or vlan'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and not __fish_seen_subcommand_from add delete del remove set help" -f -a "delete" -d 'Delete a link'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and not __fish_seen_subcommand_from add delete del remove set help" -f -a "del" -d 'Delete a link'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and not __fish_seen_subcommand_from add delete del remove set help" -f -a "remove" -d 'Delete a link'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and not __fish_seen_subcommand_from add delete del remove set help" -f -a "set" -d 'Change a link: up or down, MTU, name'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and not __fish_seen_subcommand_from add delete del remove set help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from add" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from add" -f -a "veth" -d 'Add a veth pair, its peer in any namespace'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from add" -f -a "macvlan" -d 'Add a macvlan on a parent device'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from add" -f -a "bridge" -d 'Add a bridge'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from add" -f -a "tunnel" -d 'Add a GRE, IPIP or SIT tunnel'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from add" -f -a "vlan" -d 'Add an 802.1Q VLAN on a parent device'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from add" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from delete" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from delete" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from del" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from del" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from del" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from del" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from remove" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from remove" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from set" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from set" -l mtu -d 'Set the MTU (68 to 65535, and what the device allows)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from set" -l name -d 'Rename the device (its object path stays the same)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from set" -l master -d 'Enslave the device to bridge BR in the same namespace (ip link set DEV master BR)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from set" -l address -d 'Set the device\'s MAC address (six hex octets, as 02:00:5e:10:00:01)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from set" -l mss-clamp -d 'Clamp the MSS of TCP SYNs forwarded out of the device to the route\'s MTU (on), or stop (off)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from set" -l up -d 'Bring the device up'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from set" -l down -d 'Bring the device down'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from set" -l nomaster -d 'Free the device from its bridge (ip link set DEV nomaster)'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from set" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a link: veth, macvlan, bridge or vlan'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete a link'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from help" -f -a "set" -d 'Change a link: up or down, MTU, name'
complete -c nsctl -n "__fish_nsctl_using_subcommand link; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and not __fish_seen_subcommand_from add del delete remove help" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and not __fish_seen_subcommand_from add del delete remove help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and not __fish_seen_subcommand_from add del delete remove help" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and not __fish_seen_subcommand_from add del delete remove help" -f -a "add" -d 'Add an address to a device'
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and not __fish_seen_subcommand_from add del delete remove help" -f -a "del" -d 'Delete an address from a device'
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and not __fish_seen_subcommand_from add del delete remove help" -f -a "delete" -d 'Delete an address from a device'
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and not __fish_seen_subcommand_from add del delete remove help" -f -a "remove" -d 'Delete an address from a device'
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and not __fish_seen_subcommand_from add del delete remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and __fish_seen_subcommand_from add" -s d -l dev -d 'Device: interface name in the namespace, or Device object path' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and __fish_seen_subcommand_from add" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and __fish_seen_subcommand_from add" -l peer -d 'The far end of a point-to-point link, with the prefix length (10.9.0.2/32); CIDR is then a bare address' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and __fish_seen_subcommand_from add" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and __fish_seen_subcommand_from del" -s d -l dev -d 'Device: interface name in the namespace, or Device object path' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and __fish_seen_subcommand_from del" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and __fish_seen_subcommand_from del" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and __fish_seen_subcommand_from del" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and __fish_seen_subcommand_from del" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and __fish_seen_subcommand_from delete" -s d -l dev -d 'Device: interface name in the namespace, or Device object path' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and __fish_seen_subcommand_from delete" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and __fish_seen_subcommand_from delete" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and __fish_seen_subcommand_from remove" -s d -l dev -d 'Device: interface name in the namespace, or Device object path' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and __fish_seen_subcommand_from remove" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and __fish_seen_subcommand_from remove" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add an address to a device'
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and __fish_seen_subcommand_from help" -f -a "del" -d 'Delete an address from a device'
complete -c nsctl -n "__fish_nsctl_using_subcommand addr; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and not __fish_seen_subcommand_from add del delete remove help" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and not __fish_seen_subcommand_from add del delete remove help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and not __fish_seen_subcommand_from add del delete remove help" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and not __fish_seen_subcommand_from add del delete remove help" -f -a "add" -d 'Add an address to a device'
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and not __fish_seen_subcommand_from add del delete remove help" -f -a "del" -d 'Delete an address from a device'
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and not __fish_seen_subcommand_from add del delete remove help" -f -a "delete" -d 'Delete an address from a device'
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and not __fish_seen_subcommand_from add del delete remove help" -f -a "remove" -d 'Delete an address from a device'
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and not __fish_seen_subcommand_from add del delete remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and __fish_seen_subcommand_from add" -s d -l dev -d 'Device: interface name in the namespace, or Device object path' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and __fish_seen_subcommand_from add" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and __fish_seen_subcommand_from add" -l peer -d 'The far end of a point-to-point link, with the prefix length (10.9.0.2/32); CIDR is then a bare address' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and __fish_seen_subcommand_from add" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and __fish_seen_subcommand_from del" -s d -l dev -d 'Device: interface name in the namespace, or Device object path' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and __fish_seen_subcommand_from del" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and __fish_seen_subcommand_from del" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and __fish_seen_subcommand_from del" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and __fish_seen_subcommand_from del" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and __fish_seen_subcommand_from delete" -s d -l dev -d 'Device: interface name in the namespace, or Device object path' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and __fish_seen_subcommand_from delete" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and __fish_seen_subcommand_from delete" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and __fish_seen_subcommand_from remove" -s d -l dev -d 'Device: interface name in the namespace, or Device object path' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and __fish_seen_subcommand_from remove" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and __fish_seen_subcommand_from remove" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add an address to a device'
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and __fish_seen_subcommand_from help" -f -a "del" -d 'Delete an address from a device'
complete -c nsctl -n "__fish_nsctl_using_subcommand address; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and not __fish_seen_subcommand_from add del delete remove list show help" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and not __fish_seen_subcommand_from add del delete remove list show help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and not __fish_seen_subcommand_from add del delete remove list show help" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and not __fish_seen_subcommand_from add del delete remove list show help" -f -a "add" -d 'Add a route'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and not __fish_seen_subcommand_from add del delete remove list show help" -f -a "del" -d 'Delete a route'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and not __fish_seen_subcommand_from add del delete remove list show help" -f -a "delete" -d 'Delete a route'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and not __fish_seen_subcommand_from add del delete remove list show help" -f -a "remove" -d 'Delete a route'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and not __fish_seen_subcommand_from add del delete remove list show help" -f -a "list" -d 'List routes'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and not __fish_seen_subcommand_from add del delete remove list show help" -f -a "show" -d 'List routes'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and not __fish_seen_subcommand_from add del delete remove list show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from add" -l via -l gateway -d 'Next hop address (IPv4 or IPv6, as the destination)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from add" -s d -l dev -d 'Output device; a route needs --via, --dev or both' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from add" -l table -d 'Routing table [default: main]' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from add" -l metric -d 'Route metric (priority); lower wins' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from add" -l scope -d 'Route scope' -r -f -a "global\t'Anywhere (the default for a route via a gateway)'
link\t'On the link (the default for a route on a device without gateway)'
host\t'On this host'"
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from add" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from add" -s 4 -d 'IPv4 (the default where no address tells the family)'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from add" -s 6 -d 'IPv6: a default route without --via, or a rule without --from and --to, is IPv6'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from add" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from del" -l via -l gateway -d 'Next hop address (IPv4 or IPv6, as the destination)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from del" -s d -l dev -d 'Output device; a route needs --via, --dev or both' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from del" -l table -d 'Routing table [default: main]' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from del" -l metric -d 'Route metric (priority); lower wins' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from del" -l scope -d 'Route scope' -r -f -a "global\t'Anywhere (the default for a route via a gateway)'
link\t'On the link (the default for a route on a device without gateway)'
host\t'On this host'"
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from del" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from del" -l proto -d 'Whose route it is: netnsd (the default), kernel, boot, static, dhcp, … or 0-255' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from del" -s 4 -d 'IPv4 (the default where no address tells the family)'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from del" -s 6 -d 'IPv6: a default route without --via, or a rule without --from and --to, is IPv6'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from del" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from del" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from del" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from delete" -l via -l gateway -d 'Next hop address (IPv4 or IPv6, as the destination)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from delete" -s d -l dev -d 'Output device; a route needs --via, --dev or both' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from delete" -l table -d 'Routing table [default: main]' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from delete" -l metric -d 'Route metric (priority); lower wins' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from delete" -l scope -d 'Route scope' -r -f -a "global\t'Anywhere (the default for a route via a gateway)'
link\t'On the link (the default for a route on a device without gateway)'
host\t'On this host'"
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from delete" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from delete" -l proto -d 'Whose route it is: netnsd (the default), kernel, boot, static, dhcp, … or 0-255' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from delete" -s 4 -d 'IPv4 (the default where no address tells the family)'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from delete" -s 6 -d 'IPv6: a default route without --via, or a rule without --from and --to, is IPv6'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from delete" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from remove" -l via -l gateway -d 'Next hop address (IPv4 or IPv6, as the destination)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from remove" -s d -l dev -d 'Output device; a route needs --via, --dev or both' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from remove" -l table -d 'Routing table [default: main]' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from remove" -l metric -d 'Route metric (priority); lower wins' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from remove" -l scope -d 'Route scope' -r -f -a "global\t'Anywhere (the default for a route via a gateway)'
link\t'On the link (the default for a route on a device without gateway)'
host\t'On this host'"
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from remove" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from remove" -l proto -d 'Whose route it is: netnsd (the default), kernel, boot, static, dhcp, … or 0-255' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from remove" -s 4 -d 'IPv4 (the default where no address tells the family)'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from remove" -s 6 -d 'IPv6: a default route without --via, or a rule without --from and --to, is IPv6'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from remove" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from list" -l table -d 'Routing table to list: a table as for "route add", or "all"' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from list" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from list" -s 4 -d 'Show IPv4 only'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from list" -s 6 -d 'Show IPv6 only'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from list" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from show" -l table -d 'Routing table to list: a table as for "route add", or "all"' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from show" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from show" -s 4 -d 'Show IPv4 only'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from show" -s 6 -d 'Show IPv6 only'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from show" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a route'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from help" -f -a "del" -d 'Delete a route'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from help" -f -a "list" -d 'List routes'
complete -c nsctl -n "__fish_nsctl_using_subcommand route; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and not __fish_seen_subcommand_from add del delete remove list show help" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and not __fish_seen_subcommand_from add del delete remove list show help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and not __fish_seen_subcommand_from add del delete remove list show help" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and not __fish_seen_subcommand_from add del delete remove list show help" -f -a "add" -d 'Add a policy-routing rule'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and not __fish_seen_subcommand_from add del delete remove list show help" -f -a "del" -d 'Delete a policy-routing rule'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and not __fish_seen_subcommand_from add del delete remove list show help" -f -a "delete" -d 'Delete a policy-routing rule'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and not __fish_seen_subcommand_from add del delete remove list show help" -f -a "remove" -d 'Delete a policy-routing rule'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and not __fish_seen_subcommand_from add del delete remove list show help" -f -a "list" -d 'List policy-routing rules'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and not __fish_seen_subcommand_from add del delete remove list show help" -f -a "show" -d 'List policy-routing rules'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and not __fish_seen_subcommand_from add del delete remove list show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from add" -l from -d 'Source prefix to match ("all" or omitted: any)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from add" -l to -d 'Destination prefix to match ("all" or omitted: any)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from add" -l iif -d 'Input interface to match, by name (need not exist yet)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from add" -l oif -d 'Output interface to match, by name (need not exist yet)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from add" -l fwmark -d 'Firewall mark to match, with an optional mask: 0x10, 16/0xff' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from add" -l table -l lookup -d 'Routing table to look up' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from add" -l priority -l pref -d 'Rule priority (lower is tried first); the kernel chooses one if not given' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from add" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from add" -s 4 -d 'IPv4 (the default where no address tells the family)'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from add" -s 6 -d 'IPv6: a default route without --via, or a rule without --from and --to, is IPv6'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from add" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from del" -l from -d 'Source prefix to match ("all" or omitted: any)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from del" -l to -d 'Destination prefix to match ("all" or omitted: any)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from del" -l iif -d 'Input interface to match, by name (need not exist yet)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from del" -l oif -d 'Output interface to match, by name (need not exist yet)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from del" -l fwmark -d 'Firewall mark to match, with an optional mask: 0x10, 16/0xff' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from del" -l table -l lookup -d 'Routing table to look up' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from del" -l priority -l pref -d 'Rule priority (lower is tried first); the kernel chooses one if not given' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from del" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from del" -l proto -d 'Whose rule it is: netnsd (the default), kernel, boot, static, … or 0-255' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from del" -s 4 -d 'IPv4 (the default where no address tells the family)'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from del" -s 6 -d 'IPv6: a default route without --via, or a rule without --from and --to, is IPv6'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from del" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from del" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from del" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from delete" -l from -d 'Source prefix to match ("all" or omitted: any)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from delete" -l to -d 'Destination prefix to match ("all" or omitted: any)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from delete" -l iif -d 'Input interface to match, by name (need not exist yet)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from delete" -l oif -d 'Output interface to match, by name (need not exist yet)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from delete" -l fwmark -d 'Firewall mark to match, with an optional mask: 0x10, 16/0xff' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from delete" -l table -l lookup -d 'Routing table to look up' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from delete" -l priority -l pref -d 'Rule priority (lower is tried first); the kernel chooses one if not given' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from delete" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from delete" -l proto -d 'Whose rule it is: netnsd (the default), kernel, boot, static, … or 0-255' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from delete" -s 4 -d 'IPv4 (the default where no address tells the family)'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from delete" -s 6 -d 'IPv6: a default route without --via, or a rule without --from and --to, is IPv6'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from delete" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from remove" -l from -d 'Source prefix to match ("all" or omitted: any)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from remove" -l to -d 'Destination prefix to match ("all" or omitted: any)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from remove" -l iif -d 'Input interface to match, by name (need not exist yet)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from remove" -l oif -d 'Output interface to match, by name (need not exist yet)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from remove" -l fwmark -d 'Firewall mark to match, with an optional mask: 0x10, 16/0xff' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from remove" -l table -l lookup -d 'Routing table to look up' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from remove" -l priority -l pref -d 'Rule priority (lower is tried first); the kernel chooses one if not given' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from remove" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from remove" -l proto -d 'Whose rule it is: netnsd (the default), kernel, boot, static, … or 0-255' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from remove" -s 4 -d 'IPv4 (the default where no address tells the family)'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from remove" -s 6 -d 'IPv6: a default route without --via, or a rule without --from and --to, is IPv6'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from remove" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from list" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from list" -s 4 -d 'Show IPv4 only'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from list" -s 6 -d 'Show IPv6 only'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from list" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from show" -s n -l netns -d 'Namespace to work in, by name; rootns is the host\'s own' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from show" -s 4 -d 'Show IPv4 only'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from show" -s 6 -d 'Show IPv6 only'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from show" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a policy-routing rule'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from help" -f -a "del" -d 'Delete a policy-routing rule'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from help" -f -a "list" -d 'List policy-routing rules'
complete -c nsctl -n "__fish_nsctl_using_subcommand rule; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -f -a "list" -d 'List connection profiles'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -f -a "ls" -d 'List connection profiles'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -f -a "show" -d 'Show one connection profile'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -f -a "add" -d 'Add a VPN or WireGuard connection profile'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -f -a "import" -d 'Import an OpenVPN or wg-quick configuration file as a connection profile'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -f -a "delete" -d 'Delete a connection profile'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -f -a "del" -d 'Delete a connection profile'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -f -a "remove" -d 'Delete a connection profile'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -f -a "modify" -d 'Change a connection profile: namespace keys, vpn.data and vpn.secrets items, its name'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -f -a "reload" -d 'Read the profiles in /etc/netnsd/connections again'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from list" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from ls" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from ls" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from show" -l secrets -d 'Include the VPN\'s secrets (vpn.secrets)'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from show" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from add" -l type -d 'Connection type: vpn (a VPN plugin\'s, see --vpn-type) or wireguard' -r -f -a "vpn\t'A VPN of one of NetworkManager\'s VPN plugins (vpn.service-type)'
wireguard\t'A WireGuard connection (connection.type wireguard)'"
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from add" -l vpn-type -d 'VPN plugin: openvpn (the default), openconnect, or a full vpn.service-type' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from add" -l netns-name -d 'The isolated namespace: uuid (default), name (the profile\'s id), or a namespace name' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from add" -l timeout -l netns-timeout -d 'How long to wait for the tunnel in the isolated namespace (connection.netns-timeout, default 2000)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from add" -l data -d 'A vpn.data item, such as remote=vpn.example.org:1194, ca=/path/ca.crt; repeat for more' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from add" -l secret -d 'A secret (KEY=- reads it from stdin): a vpn.secrets item, or for WireGuard private-key and preshared-key; repeat for more' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from add" -l address -d 'The tunnel\'s address, CIDR (ipv4/ipv6.address1, ...); repeat for more' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from add" -l dns -d 'A name server for the isolated namespace (ipv4/ipv6.dns); repeat for more' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from add" -l dns-search -d 'A search domain for the isolated namespace (ipv4.dns-search); repeat for more' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from add" -l listen-port -d 'The UDP port to listen on (wireguard.listen-port); by default a random one' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from add" -l mtu -d 'The tunnel\'s MTU (wireguard.mtu)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from add" -l peer -d 'A peer: its public key, then endpoint=HOST:PORT, allowed-ips=CIDR[,CIDR...] and persistent-keepalive=SECONDS, separated by spaces (one argument); repeat for more' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from add" -l isolate -d 'Put the VPN\'s tunnel into a namespace of its own (connection.netns-isolate)'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from add" -l persistent -d 'Keep the isolated namespace when the VPN goes down (connection.netns-persistent)'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from add" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from import" -l type -d 'What FILE is: openvpn or wireguard (wg-quick); by default from its extension, .ovpn for openvpn, .conf for wireguard' -r -f -a "openvpn\t'A plain OpenVPN client configuration (.ovpn)'
wireguard\t'A wg-quick configuration (.conf)'"
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from import" -l id -d 'The new profile\'s name (connection.id); by default the file\'s name without its extension' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from import" -l netns-name -d 'The isolated namespace: uuid (default), name (the profile\'s id), or a namespace name' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from import" -l timeout -l netns-timeout -d 'How long to wait for the tunnel in the isolated namespace (connection.netns-timeout, default 2000)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from import" -l isolate -d 'Put the VPN\'s tunnel into a namespace of its own (connection.netns-isolate)'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from import" -l persistent -d 'Keep the isolated namespace when the VPN goes down (connection.netns-persistent)'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from import" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from import" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from delete" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from del" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from del" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from del" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from remove" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from modify" -l id -d 'Rename the profile (connection.id)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from modify" -l netns-name -d 'The isolated namespace: uuid, name (the profile\'s id), or a namespace name' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from modify" -l timeout -l netns-timeout -d 'How long to wait for the tunnel in the isolated namespace (connection.netns-timeout)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from modify" -l data -d 'Set a vpn.data item; repeat for more' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from modify" -l remove-data -d 'Remove a vpn.data item; repeat for more' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from modify" -l secret -d 'Set a vpn.secrets item (KEY=- reads it from stdin); repeat for more' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from modify" -l isolate -d 'Put the VPN\'s tunnel into a namespace of its own (connection.netns-isolate)'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from modify" -l no-isolate -d 'Run the VPN without a namespace of its own'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from modify" -l persistent -d 'Keep the isolated namespace when the VPN goes down (connection.netns-persistent)'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from modify" -l no-persistent -d 'Remove the isolated namespace when the VPN goes down'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from modify" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from modify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from modify" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from reload" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from reload" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from reload" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from help" -f -a "list" -d 'List connection profiles'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one connection profile'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a VPN or WireGuard connection profile'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from help" -f -a "import" -d 'Import an OpenVPN or wg-quick configuration file as a connection profile'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete a connection profile'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from help" -f -a "modify" -d 'Change a connection profile: namespace keys, vpn.data and vpn.secrets items, its name'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from help" -f -a "reload" -d 'Read the profiles in /etc/netnsd/connections again'
complete -c nsctl -n "__fish_nsctl_using_subcommand connection; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -f -a "list" -d 'List connection profiles'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -f -a "ls" -d 'List connection profiles'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -f -a "show" -d 'Show one connection profile'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -f -a "add" -d 'Add a VPN or WireGuard connection profile'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -f -a "import" -d 'Import an OpenVPN or wg-quick configuration file as a connection profile'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -f -a "delete" -d 'Delete a connection profile'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -f -a "del" -d 'Delete a connection profile'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -f -a "remove" -d 'Delete a connection profile'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -f -a "modify" -d 'Change a connection profile: namespace keys, vpn.data and vpn.secrets items, its name'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -f -a "reload" -d 'Read the profiles in /etc/netnsd/connections again'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and not __fish_seen_subcommand_from list ls show add import delete del remove modify reload help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from list" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from ls" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from ls" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from show" -l secrets -d 'Include the VPN\'s secrets (vpn.secrets)'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from show" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from add" -l type -d 'Connection type: vpn (a VPN plugin\'s, see --vpn-type) or wireguard' -r -f -a "vpn\t'A VPN of one of NetworkManager\'s VPN plugins (vpn.service-type)'
wireguard\t'A WireGuard connection (connection.type wireguard)'"
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from add" -l vpn-type -d 'VPN plugin: openvpn (the default), openconnect, or a full vpn.service-type' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from add" -l netns-name -d 'The isolated namespace: uuid (default), name (the profile\'s id), or a namespace name' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from add" -l timeout -l netns-timeout -d 'How long to wait for the tunnel in the isolated namespace (connection.netns-timeout, default 2000)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from add" -l data -d 'A vpn.data item, such as remote=vpn.example.org:1194, ca=/path/ca.crt; repeat for more' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from add" -l secret -d 'A secret (KEY=- reads it from stdin): a vpn.secrets item, or for WireGuard private-key and preshared-key; repeat for more' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from add" -l address -d 'The tunnel\'s address, CIDR (ipv4/ipv6.address1, ...); repeat for more' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from add" -l dns -d 'A name server for the isolated namespace (ipv4/ipv6.dns); repeat for more' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from add" -l dns-search -d 'A search domain for the isolated namespace (ipv4.dns-search); repeat for more' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from add" -l listen-port -d 'The UDP port to listen on (wireguard.listen-port); by default a random one' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from add" -l mtu -d 'The tunnel\'s MTU (wireguard.mtu)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from add" -l peer -d 'A peer: its public key, then endpoint=HOST:PORT, allowed-ips=CIDR[,CIDR...] and persistent-keepalive=SECONDS, separated by spaces (one argument); repeat for more' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from add" -l isolate -d 'Put the VPN\'s tunnel into a namespace of its own (connection.netns-isolate)'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from add" -l persistent -d 'Keep the isolated namespace when the VPN goes down (connection.netns-persistent)'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from add" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from import" -l type -d 'What FILE is: openvpn or wireguard (wg-quick); by default from its extension, .ovpn for openvpn, .conf for wireguard' -r -f -a "openvpn\t'A plain OpenVPN client configuration (.ovpn)'
wireguard\t'A wg-quick configuration (.conf)'"
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from import" -l id -d 'The new profile\'s name (connection.id); by default the file\'s name without its extension' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from import" -l netns-name -d 'The isolated namespace: uuid (default), name (the profile\'s id), or a namespace name' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from import" -l timeout -l netns-timeout -d 'How long to wait for the tunnel in the isolated namespace (connection.netns-timeout, default 2000)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from import" -l isolate -d 'Put the VPN\'s tunnel into a namespace of its own (connection.netns-isolate)'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from import" -l persistent -d 'Keep the isolated namespace when the VPN goes down (connection.netns-persistent)'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from import" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from import" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from delete" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from del" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from del" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from del" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from remove" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from modify" -l id -d 'Rename the profile (connection.id)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from modify" -l netns-name -d 'The isolated namespace: uuid, name (the profile\'s id), or a namespace name' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from modify" -l timeout -l netns-timeout -d 'How long to wait for the tunnel in the isolated namespace (connection.netns-timeout)' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from modify" -l data -d 'Set a vpn.data item; repeat for more' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from modify" -l remove-data -d 'Remove a vpn.data item; repeat for more' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from modify" -l secret -d 'Set a vpn.secrets item (KEY=- reads it from stdin); repeat for more' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from modify" -l isolate -d 'Put the VPN\'s tunnel into a namespace of its own (connection.netns-isolate)'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from modify" -l no-isolate -d 'Run the VPN without a namespace of its own'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from modify" -l persistent -d 'Keep the isolated namespace when the VPN goes down (connection.netns-persistent)'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from modify" -l no-persistent -d 'Remove the isolated namespace when the VPN goes down'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from modify" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from modify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from modify" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from reload" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from reload" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from reload" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from help" -f -a "list" -d 'List connection profiles'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one connection profile'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a VPN or WireGuard connection profile'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from help" -f -a "import" -d 'Import an OpenVPN or wg-quick configuration file as a connection profile'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete a connection profile'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from help" -f -a "modify" -d 'Change a connection profile: namespace keys, vpn.data and vpn.secrets items, its name'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from help" -f -a "reload" -d 'Read the profiles in /etc/netnsd/connections again'
complete -c nsctl -n "__fish_nsctl_using_subcommand con; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and not __fish_seen_subcommand_from up down status help" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and not __fish_seen_subcommand_from up down status help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and not __fish_seen_subcommand_from up down status help" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and not __fish_seen_subcommand_from up down status help" -f -a "up" -d 'Bring a VPN up, printing each state change, and wait until it is up or failed'
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and not __fish_seen_subcommand_from up down status help" -f -a "down" -d 'Bring a VPN down and wait until it is down'
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and not __fish_seen_subcommand_from up down status help" -f -a "status" -d 'List the active connections'
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and not __fish_seen_subcommand_from up down status help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and __fish_seen_subcommand_from up" -l from -d 'Namespace to run the VPN client in, where its uplink is' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and __fish_seen_subcommand_from up" -l timeout -d 'Seconds to wait for the VPN to come up; 0: do not wait' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and __fish_seen_subcommand_from up" -l ask -d 'Be the secret agent even when stdin is not a terminal (answers read from stdin, a line each)'
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and __fish_seen_subcommand_from up" -l no-ask -d 'Never ask for secrets: a missing one fails the activation (no-secrets)'
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and __fish_seen_subcommand_from up" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and __fish_seen_subcommand_from up" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and __fish_seen_subcommand_from up" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and __fish_seen_subcommand_from down" -l timeout -d 'Seconds to wait for the VPN to be down; 0: do not wait' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and __fish_seen_subcommand_from down" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and __fish_seen_subcommand_from down" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and __fish_seen_subcommand_from down" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and __fish_seen_subcommand_from status" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and __fish_seen_subcommand_from help" -f -a "up" -d 'Bring a VPN up, printing each state change, and wait until it is up or failed'
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and __fish_seen_subcommand_from help" -f -a "down" -d 'Bring a VPN down and wait until it is down'
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and __fish_seen_subcommand_from help" -f -a "status" -d 'List the active connections'
complete -c nsctl -n "__fish_nsctl_using_subcommand vpn; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand reload" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand reload" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand reload" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand dispatcher" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand dispatcher" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand dispatcher" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand desktop-entry" -l name -d 'The program\'s name in the menu, e.g. Firefox' -r
complete -c nsctl -n "__fish_nsctl_using_subcommand desktop-entry" -l remove -d 'Delete the entry instead of writing it'
complete -c nsctl -n "__fish_nsctl_using_subcommand desktop-entry" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand desktop-entry" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand desktop-entry" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand monitor" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand monitor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand monitor" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand graph" -l svg -d 'Render the graph as SVG into FILE with Graphviz\'s dot' -r -F
complete -c nsctl -n "__fish_nsctl_using_subcommand graph" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand graph" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nsctl -n "__fish_nsctl_using_subcommand graph" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand generate-man" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand generate-man" -s h -l help -d 'Print help'
complete -c nsctl -n "__fish_nsctl_using_subcommand generate-man" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand generate-completions" -l json -d 'Print JSON for scripts instead of tables'
complete -c nsctl -n "__fish_nsctl_using_subcommand generate-completions" -s h -l help -d 'Print help'
complete -c nsctl -n "__fish_nsctl_using_subcommand generate-completions" -s V -l version -d 'Print version'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and not __fish_seen_subcommand_from list add delete show attach exec uplink dns forward device link addr route rule connection vpn reload dispatcher desktop-entry monitor graph generate-man generate-completions help" -f -a "list" -d 'List network namespaces, the root namespace first'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and not __fish_seen_subcommand_from list add delete show attach exec uplink dns forward device link addr route rule connection vpn reload dispatcher desktop-entry monitor graph generate-man generate-completions help" -f -a "add" -d 'Add a network namespace and print its object path'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and not __fish_seen_subcommand_from list add delete show attach exec uplink dns forward device link addr route rule connection vpn reload dispatcher desktop-entry monitor graph generate-man generate-completions help" -f -a "delete" -d 'Delete a network namespace'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and not __fish_seen_subcommand_from list add delete show attach exec uplink dns forward device link addr route rule connection vpn reload dispatcher desktop-entry monitor graph generate-man generate-completions help" -f -a "show" -d 'Show one network namespace'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and not __fish_seen_subcommand_from list add delete show attach exec uplink dns forward device link addr route rule connection vpn reload dispatcher desktop-entry monitor graph generate-man generate-completions help" -f -a "attach" -d 'Give a running process\'s network namespace a name'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and not __fish_seen_subcommand_from list add delete show attach exec uplink dns forward device link addr route rule connection vpn reload dispatcher desktop-entry monitor graph generate-man generate-completions help" -f -a "exec" -d 'Run a program in a namespace, as yourself, and wait for it'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and not __fish_seen_subcommand_from list add delete show attach exec uplink dns forward device link addr route rule connection vpn reload dispatcher desktop-entry monitor graph generate-man generate-completions help" -f -a "uplink" -d 'Set or clear the uplink of a namespace: a routed veth with NAT, or a macvlan'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and not __fish_seen_subcommand_from list add delete show attach exec uplink dns forward device link addr route rule connection vpn reload dispatcher desktop-entry monitor graph generate-man generate-completions help" -f -a "dns" -d 'Set or clear the name servers of a namespace'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and not __fish_seen_subcommand_from list add delete show attach exec uplink dns forward device link addr route rule connection vpn reload dispatcher desktop-entry monitor graph generate-man generate-completions help" -f -a "forward" -d 'Port forwards from the host into a namespace: add, list, del'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and not __fish_seen_subcommand_from list add delete show attach exec uplink dns forward device link addr route rule connection vpn reload dispatcher desktop-entry monitor graph generate-man generate-completions help" -f -a "device" -d 'Devices: list them, show one, move one into another namespace'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and not __fish_seen_subcommand_from list add delete show attach exec uplink dns forward device link addr route rule connection vpn reload dispatcher desktop-entry monitor graph generate-man generate-completions help" -f -a "link" -d 'Links: add veth pairs, macvlans, bridges and VLANs; delete; set up, down, MTU, name'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and not __fish_seen_subcommand_from list add delete show attach exec uplink dns forward device link addr route rule connection vpn reload dispatcher desktop-entry monitor graph generate-man generate-completions help" -f -a "addr" -d 'IP addresses: add and delete'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and not __fish_seen_subcommand_from list add delete show attach exec uplink dns forward device link addr route rule connection vpn reload dispatcher desktop-entry monitor graph generate-man generate-completions help" -f -a "route" -d 'Routes: add, delete, list'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and not __fish_seen_subcommand_from list add delete show attach exec uplink dns forward device link addr route rule connection vpn reload dispatcher desktop-entry monitor graph generate-man generate-completions help" -f -a "rule" -d 'Policy-routing rules: add, delete, list'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and not __fish_seen_subcommand_from list add delete show attach exec uplink dns forward device link addr route rule connection vpn reload dispatcher desktop-entry monitor graph generate-man generate-completions help" -f -a "connection" -d 'Connection profiles: list, show, add, import, modify, delete, reload'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and not __fish_seen_subcommand_from list add delete show attach exec uplink dns forward device link addr route rule connection vpn reload dispatcher desktop-entry monitor graph generate-man generate-completions help" -f -a "vpn" -d 'VPNs: bring one up or down, show the active ones'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and not __fish_seen_subcommand_from list add delete show attach exec uplink dns forward device link addr route rule connection vpn reload dispatcher desktop-entry monitor graph generate-man generate-completions help" -f -a "reload" -d 'Read the declared namespaces\' files again and apply them'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and not __fish_seen_subcommand_from list add delete show attach exec uplink dns forward device link addr route rule connection vpn reload dispatcher desktop-entry monitor graph generate-man generate-completions help" -f -a "dispatcher" -d 'List the dispatcher scripts, and whether each runs'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and not __fish_seen_subcommand_from list add delete show attach exec uplink dns forward device link addr route rule connection vpn reload dispatcher desktop-entry monitor graph generate-man generate-completions help" -f -a "desktop-entry" -d 'Write a menu entry that runs a program in a VPN\'s namespace'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and not __fish_seen_subcommand_from list add delete show attach exec uplink dns forward device link addr route rule connection vpn reload dispatcher desktop-entry monitor graph generate-man generate-completions help" -f -a "monitor" -d 'Print netnsd\'s changes as they happen, one line each'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and not __fish_seen_subcommand_from list add delete show attach exec uplink dns forward device link addr route rule connection vpn reload dispatcher desktop-entry monitor graph generate-man generate-completions help" -f -a "graph" -d 'Draw namespaces, devices, veth pairs, uplinks, tunnels and VPNs (Graphviz)'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and not __fish_seen_subcommand_from list add delete show attach exec uplink dns forward device link addr route rule connection vpn reload dispatcher desktop-entry monitor graph generate-man generate-completions help" -f -a "generate-man" -d 'Write the man pages (nsctl.1, nsctl-SUBCOMMAND.1) into DIR'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and not __fish_seen_subcommand_from list add delete show attach exec uplink dns forward device link addr route rule connection vpn reload dispatcher desktop-entry monitor graph generate-man generate-completions help" -f -a "generate-completions" -d 'Print the shell completion script for SHELL'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and not __fish_seen_subcommand_from list add delete show attach exec uplink dns forward device link addr route rule connection vpn reload dispatcher desktop-entry monitor graph generate-man generate-completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from uplink" -f -a "set" -d 'Give a namespace an uplink, replacing the one it has'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from uplink" -f -a "clear" -d 'Take a namespace\'s uplink away'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from dns" -f -a "set" -d 'Set the name servers and search domains of a namespace'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from dns" -f -a "clear" -d 'Remove a namespace\'s DNS settings'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from forward" -f -a "add" -d 'Forward a port of the host to a namespace'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from forward" -f -a "list" -d 'List port forwards, of one namespace or of all'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from forward" -f -a "del" -d 'Remove a port forward'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from device" -f -a "list" -d 'List devices, of one namespace or of all'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from device" -f -a "show" -d 'Show one device'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from device" -f -a "take" -d 'Move a device into another namespace'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from link" -f -a "add" -d 'Add a link: veth, macvlan, bridge or vlan'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from link" -f -a "delete" -d 'Delete a link'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from link" -f -a "set" -d 'Change a link: up or down, MTU, name'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from addr" -f -a "add" -d 'Add an address to a device'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from addr" -f -a "del" -d 'Delete an address from a device'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from route" -f -a "add" -d 'Add a route'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from route" -f -a "del" -d 'Delete a route'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from route" -f -a "list" -d 'List routes'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from rule" -f -a "add" -d 'Add a policy-routing rule'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from rule" -f -a "del" -d 'Delete a policy-routing rule'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from rule" -f -a "list" -d 'List policy-routing rules'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from connection" -f -a "list" -d 'List connection profiles'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from connection" -f -a "show" -d 'Show one connection profile'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from connection" -f -a "add" -d 'Add a VPN or WireGuard connection profile'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from connection" -f -a "import" -d 'Import an OpenVPN or wg-quick configuration file as a connection profile'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from connection" -f -a "delete" -d 'Delete a connection profile'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from connection" -f -a "modify" -d 'Change a connection profile: namespace keys, vpn.data and vpn.secrets items, its name'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from connection" -f -a "reload" -d 'Read the profiles in /etc/netnsd/connections again'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from vpn" -f -a "up" -d 'Bring a VPN up, printing each state change, and wait until it is up or failed'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from vpn" -f -a "down" -d 'Bring a VPN down and wait until it is down'
complete -c nsctl -n "__fish_nsctl_using_subcommand help; and __fish_seen_subcommand_from vpn" -f -a "status" -d 'List the active connections'
