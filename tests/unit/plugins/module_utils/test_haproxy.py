"""Unit tests of the HAProxy runtime API client: parsing, decoding, planning, and its socket I/O.

The fixtures below are real answers of HAProxy 2.6.12 (Debian 12), captured
from a test instance with a backend "web" (web1 UP, web2 UP, web3 DOWN with
its port closed, web4 without check, web5 "disabled") and a backend "api"
(api1 without check, api2 tracking web/web1). The *_CHANGED answers were taken
after "set server web/web2 state drain", "set server web/web2 weight 7",
"set server web/web1 state maint" and "set server api/api1 weight 0".
STAT_SESSION_* are "show stat" while a request was held open on a
drained web1, and after it ended.
"""

import os
import shutil
import socket
import subprocess
import sys
import threading

import pytest

from ansible_collections.baton.docker.plugins.module_utils import _haproxy as hx
from tests.support.haproxy import FakeRuntimeSocket
from tests.support.net import free_port

COLLECTIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)).rsplit(os.sep + "tests" + os.sep, 1)[0],
                           "build", "collections")

STAT_STARTED = (
    '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,a'
    'ct,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,'
    'check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_ra'
    'te,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,'
    'ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_hea'
    'lth,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon'
    ',dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,ei'
    'nt,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,a'
    'gg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,'
    'h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_str'
    'eam_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_stre'
    'ams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spli'
    'ced_bytes_in,h1_spliced_bytes_out,\n'
    'fe,FRONTEND,,,0,0,9983,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,0,,,,0,0,0,0,0,0,,0,0,0,,,0,0,0,0,,,,,,,,,,'
    ',,,,,,,,,,,http,,0,0,0,0,0,0,0,,,0,0,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,\n'
    'web,web1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,1,0,,1,3,1,,0,,2,0,,0,L7OK,200,3,0,0,0,0,0,0,,,,0,0,0,,,,,-1,'
    ',,0,0,0,0,,,,Layer7 check passed,,1,2,2,,,,127.0.0.1:39017,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,'
    '0,0,,,,,,,,,,,,,,,,,,,,,,\n'
    'web,web2,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,1,0,,1,3,2,,0,,2,0,,0,L7OK,200,0,0,0,0,0,0,0,,,,0,0,0,,,,,-1,'
    ',,0,0,0,0,,,,Layer7 check passed,,1,2,2,,,,127.0.0.1:37375,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,'
    '0,0,,,,,,,,,,,,,,,,,,,,,,\n'
    'web,web3,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1,1,0,1,1,0,0,,1,3,3,,0,,2,0,,0,L4CON,,0,0,0,0,0,0,0,,,,0,0,0,,,,,-1,'
    'Connection refused,,0,0,0,0,,,,Layer4 connection problem,,1,2,0,,,,127.0.0.1:50879,,http,,,,,,,,0,0,0,,,0,,0,0'
    ',0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n'
    'web,web4,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,1,1,0,,,1,,,1,3,4,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0'
    ',0,0,,,,,,,,,,,,127.0.0.1:39017,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n'
    'web,web5,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,0,0,1,1,,1,3,5,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0'
    ',0,0,,,,,,,,,,,,127.0.0.1:39017,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n'
    'web,BACKEND,0,0,0,0,999,0,0,0,0,0,,0,0,0,0,UP,3,3,0,,0,1,0,,1,3,0,,0,,1,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,0,0,0,0,-'
    '1,,,0,0,0,0,,,,,,,,,,,,,,http,roundrobin,,,,,,,0,0,0,0,0,,,0,0,0,0,0,,,,,3,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0'
    ',0,0,0,0,3,3,290,48,0,0,\n'
    'api,api1,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,1,1,0,,,1,,,1,4,1,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0'
    ',0,0,,,,,,,,,,,,127.0.0.1:39017,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n'
    'api,api2,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,,,1,,,1,4,2,,0,web/web1,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0'
    ',0,0,0,,,,,,,,,,,,127.0.0.1:39017,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,'
    '\n'
    'api,BACKEND,0,0,0,0,1,0,0,0,0,0,,0,0,0,0,UP,2,2,0,,0,1,0,,1,4,0,,0,,1,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,0,0,0,0,-1,'
    ',,0,0,0,0,,,,,,,,,,,,,,http,roundrobin,,,,,,,0,0,0,0,0,,,0,0,0,0,0,,,,,2,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0'
    ',0,0,0,0,0,0,0,0,0,\n'
    '\n'
)

SERVERS_STATE_STARTED = (
    '1\n'
    '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_l'
    'ast_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id s'
    'rv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_'
    'port\n'
    '3 web 1 web1 127.0.0.1 2 0 1 1 1 15 3 2 6 0 0 0 - 39017 - 0 0 - - 0\n'
    '3 web 2 web2 127.0.0.1 2 0 1 1 1 15 3 2 6 0 0 0 - 37375 - 0 0 - - 0\n'
    '3 web 3 web3 127.0.0.1 0 0 1 1 0 8 2 0 6 0 0 0 - 50879 - 0 0 - - 0\n'
    '3 web 4 web4 127.0.0.1 2 0 1 1 1 1 0 2 0 0 0 0 - 39017 - 0 0 - - 0\n'
    '3 web 5 web5 127.0.0.1 0 5 1 1 1 1 0 0 14 0 0 0 - 39017 - 0 0 - - 0\n'
    '4 api 1 api1 127.0.0.1 2 0 1 1 1 1 0 2 0 0 0 0 - 39017 - 0 0 - - 0\n'
    '4 api 2 api2 127.0.0.1 2 0 1 1 1 1 0 2 0 0 0 0 - 39017 - 0 0 - - 0\n'
    '\n'
)

STAT_CHANGED = (
    '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,a'
    'ct,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,'
    'check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_ra'
    'te,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,'
    'ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_hea'
    'lth,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon'
    ',dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,ei'
    'nt,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,a'
    'gg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,'
    'h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_str'
    'eam_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_stre'
    'ams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spli'
    'ced_bytes_in,h1_spliced_bytes_out,\n'
    'fe,FRONTEND,,,0,0,9983,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,0,,,,0,0,0,0,0,0,,0,0,0,,,0,0,0,0,,,,,,,,,,'
    ',,,,,,,,,,,http,,0,0,0,0,0,0,0,,,0,0,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,\n'
    'web,web1,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,0,1,0,0,,1,3,1,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0'
    ',0,0,,,,,,,,,,,,127.0.0.1:39017,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n'
    'web,web2,0,0,0,0,,0,0,0,,0,,0,0,0,0,DRAIN,7,1,0,0,0,0,0,,1,3,2,,0,,2,0,,0,L7OK,200,0,0,0,0,0,0,0,,,,0,0,0,,,,,'
    '-1,,,0,0,0,0,,,,Layer7 check passed,,1,2,2,,,,127.0.0.1:37375,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,7,,,,-'
    ',0,0,0,,,,,,,,,,,,,,,,,,,,,,\n'
    'web,web3,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1,1,0,1,1,0,0,,1,3,3,,0,,2,0,,0,L4CON,,0,0,0,0,0,0,0,,,,0,0,0,,,,,-1,'
    'Connection refused,,0,0,0,0,,,,Layer4 connection problem,,1,2,0,,,,127.0.0.1:50879,,http,,,,,,,,0,0,0,,,0,,0,0'
    ',0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n'
    'web,web4,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,1,1,0,,,1,,,1,3,4,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0'
    ',0,0,,,,,,,,,,,,127.0.0.1:39017,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n'
    'web,web5,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,0,0,1,1,,1,3,5,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0'
    ',0,0,,,,,,,,,,,,127.0.0.1:39017,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n'
    'web,BACKEND,0,0,0,0,999,0,0,0,0,0,,0,0,0,0,UP,1,1,0,,0,1,0,,1,3,0,,0,,1,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,0,0,0,0,-'
    '1,,,0,0,0,0,,,,,,,,,,,,,,http,roundrobin,,,,,,,0,0,0,0,0,,,0,0,0,0,0,,,,,1,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0'
    ',0,0,0,0,3,3,290,48,0,0,\n'
    'api,api1,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,0,1,0,,,1,,,1,4,1,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0'
    ',0,0,,,,,,,,,,,,127.0.0.1:39017,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,0,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n'
    'api,api2,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT (via web/web1),1,1,0,,,0,,,1,4,2,,0,web/web1,2,0,,0,,,,0,0,0,0,0,0,,'
    ',,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:39017,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,'
    ',,,,,,,,,,,,,,,,,,\n'
    'api,BACKEND,0,0,0,0,1,0,0,0,0,0,,0,0,0,0,DOWN,0,0,0,,1,0,0,,1,4,0,,0,,1,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,0,0,0,0,-'
    '1,,,0,0,0,0,,,,,,,,,,,,,,http,roundrobin,,,,,,,0,0,0,0,0,,,0,0,0,0,0,,,,,0,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0'
    ',0,0,0,0,0,0,0,0,0,0,\n'
    '\n'
)

SERVERS_STATE_CHANGED = (
    '1\n'
    '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_l'
    'ast_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id s'
    'rv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_'
    'port\n'
    '3 web 1 web1 127.0.0.1 0 1 1 1 0 15 3 0 14 0 0 0 - 39017 - 0 0 - - 0\n'
    '3 web 2 web2 127.0.0.1 2 8 7 1 0 15 3 2 6 0 0 0 - 37375 - 0 0 - - 0\n'
    '3 web 3 web3 127.0.0.1 0 0 1 1 0 8 2 0 6 0 0 0 - 50879 - 0 0 - - 0\n'
    '3 web 4 web4 127.0.0.1 2 0 1 1 1 1 0 2 0 0 0 0 - 39017 - 0 0 - - 0\n'
    '3 web 5 web5 127.0.0.1 0 5 1 1 1 1 0 0 14 0 0 0 - 39017 - 0 0 - - 0\n'
    '4 api 1 api1 127.0.0.1 2 0 0 1 1 1 0 2 0 0 0 0 - 39017 - 0 0 - - 0\n'
    '4 api 2 api2 127.0.0.1 0 2 1 1 0 1 0 0 0 0 0 0 - 39017 - 0 0 - - 0\n'
    '\n'
)

SHOW_INFO = (
    'Name: HAProxy\n'
    'Version: 2.6.12-1+deb12u4\n'
    'Release_date: 2026/10/17\n'
    'Nbthread: 2\n'
    'Nbproc: 1\n'
    'Process_num: 1\n'
    'Pid: 27831\n'
    'Uptime: 0d 0h00m00s\n'
    'Uptime_sec: 0\n'
    'Memmax_MB: 0\n'
    'PoolAlloc_MB: 0\n'
    'PoolUsed_MB: 0\n'
    'PoolFailed: 0\n'
    'Ulimit-n: 19999\n'
    'Maxsock: 19999\n'
    'Maxconn: 9983\n'
    'Hard_maxconn: 9983\n'
    'CurrConns: 0\n'
    'CumConns: 20\n'
    'CumReq: 17\n'
    'MaxSslConns: 0\n'
    'CurrSslConns: 0\n'
    'CumSslConns: 0\n'
    'Maxpipes: 0\n'
    'PipesUsed: 0\n'
    'PipesFree: 0\n'
    'ConnRate: '
)

SHOW_BACKEND = (
    '# name\n'
    'web\n'
    'api\n'
    '\n'
)

STAT_SESSION_IN_FLIGHT = (
    '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,a'
    'ct,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,'
    'check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_ra'
    'te,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,'
    'ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_hea'
    'lth,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon'
    ',dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,ei'
    'nt,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,a'
    'gg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,'
    'h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_str'
    'eam_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_stre'
    'ams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spli'
    'ced_bytes_in,h1_spliced_bytes_out,\n'
    'web,web1,0,0,1,1,,1,0,0,,0,,0,0,0,0,DRAIN,1,1,0,0,0,0,0,,1,3,1,,1,,2,1,,1,L7OK,200,1,0,0,0,0,0,0,,,,0,0,0,,,,,'
    '0,,,0,0,0,0,,,,Layer7 check passed,,1,2,2,,,,127.0.0.1:33611,,http,,,,,,,,0,1,0,,,0,,0,0,0,0,0,0,0,1,1,1,,,,-,'
    '0,0,0,,,,,,,,,,,,,,,,,,,,,,\n'
    '\n'
)

STAT_SESSION_ENDED = (
    '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,a'
    'ct,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,'
    'check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_ra'
    'te,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,'
    'ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_hea'
    'lth,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon'
    ',dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,ei'
    'nt,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,a'
    'gg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,'
    'h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_str'
    'eam_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_stre'
    'ams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spli'
    'ced_bytes_in,h1_spliced_bytes_out,\n'
    'web,web1,0,0,0,1,,1,107,141,,0,,0,0,0,0,DRAIN,1,1,0,0,0,0,0,,1,3,1,,1,,2,1,,1,L7OK,200,1,0,1,0,0,0,0,,,,1,0,0,'
    ',,,,0,,,0,0,50,50,,,,Layer7 check passed,,1,2,2,,,,127.0.0.1:33611,,http,,,,,,,,0,1,0,,,1,,0,0,50,50,0,1,0,0,1'
    ',1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n'
    '\n'
)


def state_of(stat_text, state_text, backend, server):
    """A ServerState built from two real answers, as HAProxyRuntime.server() does."""
    state_row = [r for r in hx.parse_servers_state(state_text) if r["be_name"] == backend and r["srv_name"] == server][0]
    stat_row = [r for r in hx.parse_show_stat(stat_text) if r["pxname"] == backend and r["svname"] == server][0]
    return hx.ServerState(backend, server, state_row, stat_row)


class Current:
    """The two fields plan_server_change() reads."""

    def __init__(self, admin_bits=0, weight=1):
        self.admin_bits = admin_bits
        self.weight = weight


# ---------------------------------------------------------------------------
# show stat / show servers state / show info parsing
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, pxname, svname, status, scur, weight, check_status", [
    (STAT_STARTED, "fe", "FRONTEND", "OPEN", "0", "", ""),
    (STAT_STARTED, "web", "web1", "UP", "0", "1", "L7OK"),
    (STAT_STARTED, "web", "web3", "DOWN", "0", "1", "L4CON"),
    (STAT_STARTED, "web", "web4", "no check", "0", "1", ""),
    (STAT_STARTED, "web", "web5", "MAINT", "0", "1", ""),
    (STAT_STARTED, "api", "api2", "UP", "0", "1", ""),
    (STAT_CHANGED, "web", "web1", "MAINT", "0", "1", ""),
    (STAT_CHANGED, "web", "web2", "DRAIN", "0", "7", "L7OK"),
    (STAT_CHANGED, "api", "api1", "no check", "0", "0", ""),
    (STAT_CHANGED, "api", "api2", "MAINT (via web/web1)", "0", "1", ""),
    (STAT_SESSION_IN_FLIGHT, "web", "web1", "DRAIN", "1", "1", "L7OK"),
    (STAT_SESSION_ENDED, "web", "web1", "DRAIN", "0", "1", "L7OK"),
])
def test_parse_show_stat_rows(text, pxname, svname, status, scur, weight, check_status):
    rows = hx.parse_show_stat(text)
    row = [r for r in rows if r["pxname"] == pxname and r["svname"] == svname]
    assert len(row) == 1
    assert (row[0]["status"], row[0]["scur"], row[0]["weight"], row[0]["check_status"]) == (status, scur, weight, check_status)


@pytest.mark.parametrize("text, count", [(STAT_STARTED, 10), (STAT_CHANGED, 10), (STAT_SESSION_IN_FLIGHT, 1)])
def test_parse_show_stat_counts_lines_and_keeps_every_column(text, count):
    rows = hx.parse_show_stat(text)
    assert len(rows) == count
    assert all("" not in row and "agg_check_status" in row for row in rows)


def test_parse_show_stat_keeps_last_check_detail():
    row = [r for r in hx.parse_show_stat(STAT_STARTED) if r["svname"] == "web3"][0]
    assert row["last_chk"] == "Connection refused"
    assert row["check_desc"] == "Layer4 connection problem"


@pytest.mark.parametrize("answer", ["", "Permission denied\n", "No such proxy.\n", "Unknown command, but maybe...\n"])
def test_parse_show_stat_rejects_other_answers(answer):
    with pytest.raises(hx.HAProxyError, match="unexpected answer to 'show stat'"):
        hx.parse_show_stat(answer)


@pytest.mark.parametrize("text, backend, server, op_state, admin_state, uweight, port", [
    (SERVERS_STATE_STARTED, "web", "web1", "2", "0", "1", "39017"),
    (SERVERS_STATE_STARTED, "web", "web3", "0", "0", "1", "50879"),
    (SERVERS_STATE_STARTED, "web", "web5", "0", "5", "1", "39017"),
    (SERVERS_STATE_CHANGED, "web", "web1", "0", "1", "1", "39017"),
    (SERVERS_STATE_CHANGED, "web", "web2", "2", "8", "7", "37375"),
    (SERVERS_STATE_CHANGED, "api", "api1", "2", "0", "0", "39017"),
    (SERVERS_STATE_CHANGED, "api", "api2", "0", "2", "1", "39017"),
])
def test_parse_servers_state_rows(text, backend, server, op_state, admin_state, uweight, port):
    rows = hx.parse_servers_state(text)
    assert len(rows) == 7
    row = [r for r in rows if r["be_name"] == backend and r["srv_name"] == server][0]
    assert (row["srv_op_state"], row["srv_admin_state"], row["srv_uweight"], row["srv_port"]) == (op_state, admin_state, uweight, port)


@pytest.mark.parametrize("answer, message", [
    ("Can't find backend.\n", "unexpected answer"),
    ("Permission denied\n", "unexpected answer"),
    ("2\n# be_id be_name\n1 web\n", "format version 2 is not supported"),
])
def test_parse_servers_state_rejects_other_answers(answer, message):
    with pytest.raises(hx.HAProxyError, match=message):
        hx.parse_servers_state(answer)


def test_parse_servers_state_of_empty_backend():
    assert hx.parse_servers_state(SERVERS_STATE_STARTED.split("\n3 web", maxsplit=1)[0]) == []


def test_parse_show_info():
    info = hx.parse_show_info(SHOW_INFO)
    assert info["Name"] == "HAProxy"
    assert info["Version"].startswith("2.6.")
    assert info["Pid"].isdigit()
    with pytest.raises(hx.HAProxyError):
        hx.parse_show_info("Permission denied\n")


# ---------------------------------------------------------------------------
# admin state
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("bits, state, forced, flag", [
    (0x00, "ready", "ready", None),
    (0x01, "maint", "maint", "forced maint"),
    (0x05, "maint", "maint", "disabled in the configuration"),  # "disabled" server at startup
    (0x04, "ready", "ready", "disabled in the configuration"),  # "disabled" server set ready since
    (0x08, "drain", "drain", "forced drain"),
    (0x02, "maint", "ready", "maint inherited from a tracked server"),
    (0x10, "drain", "ready", "drain inherited from a tracked server"),
    (0x20, "maint", "ready", "maint after an address resolution failure"),
    (0x0A, "maint", "drain", "forced drain"),  # forced drain under an inherited maint
    (0x40, "ready", "ready", "FQDN set at runtime"),
    ("9", "maint", "maint", "forced drain"),  # as read from the text, both forced bits
])
def test_decode_admin_state(bits, state, forced, flag):
    decoded = hx.decode_admin_state(bits)
    assert decoded["state"] == state
    assert decoded["forced"] == forced
    if flag is None:
        assert decoded["flags"] == []
    else:
        assert flag in decoded["flags"]


@pytest.mark.parametrize("bits, state, expected", [
    (0x00, "drain", 0x08),
    (0x00, "maint", 0x01),
    (0x08, "maint", 0x01),  # HAProxy clears forced drain when forcing maint
    (0x01, "drain", 0x08),
    (0x09, "ready", 0x00),
    (0x05, "ready", 0x04),
    (0x02, "ready", 0x02),  # inherited maint stays
    (0x12, "maint", 0x13),
])
def test_admin_bits_after(bits, state, expected):
    assert hx.admin_bits_after(bits, state) == expected


def test_admin_bits_after_refuses_unknown_state():
    with pytest.raises(ValueError):
        hx.admin_bits_after(0, "up")


# ---------------------------------------------------------------------------
# ServerState from real answers
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("stat, state, backend, server, expected, is_up", [
    (STAT_STARTED, SERVERS_STATE_STARTED, "web", "web1",
     dict(admin_state="ready", status="UP", weight=1, sessions=0, queued=0), True),
    (STAT_STARTED, SERVERS_STATE_STARTED, "web", "web3",
     dict(admin_state="ready", status="DOWN", weight=1, sessions=0, queued=0), False),
    (STAT_STARTED, SERVERS_STATE_STARTED, "web", "web4",
     dict(admin_state="ready", status="no check", weight=1, sessions=0, queued=0), True),
    (STAT_STARTED, SERVERS_STATE_STARTED, "web", "web5",
     dict(admin_state="maint", status="MAINT", weight=1, sessions=0, queued=0), False),
    (STAT_CHANGED, SERVERS_STATE_CHANGED, "web", "web2",
     dict(admin_state="drain", status="DRAIN", weight=7, sessions=0, queued=0), False),
    (STAT_CHANGED, SERVERS_STATE_CHANGED, "api", "api1",
     dict(admin_state="ready", status="no check", weight=0, sessions=0, queued=0), True),
    (STAT_CHANGED, SERVERS_STATE_CHANGED, "api", "api2",
     dict(admin_state="maint", status="MAINT (via web/web1)", weight=1, sessions=0, queued=0), False),
])
def test_server_state_from_real_answers(stat, state, backend, server, expected, is_up):
    current = state_of(stat, state, backend, server)
    assert current.as_dict() == expected
    assert current.is_up is is_up
    assert current.name == "%s/%s" % (backend, server)


def test_server_state_inherited_maint_is_not_forced():
    current = state_of(STAT_CHANGED, SERVERS_STATE_CHANGED, "api", "api2")
    assert current.forced_state == "ready"
    assert current.admin_flags == ["maint inherited from a tracked server"]


def test_server_state_sessions_and_check_detail():
    in_flight = state_of(STAT_SESSION_IN_FLIGHT, SERVERS_STATE_CHANGED.replace(" 8 7 1 ", " 8 1 1 "), "web", "web1")
    assert in_flight.sessions == 1 and not in_flight.is_drained
    ended = state_of(STAT_SESSION_ENDED, SERVERS_STATE_CHANGED, "web", "web1")
    assert ended.sessions == 0 and ended.is_drained
    down = state_of(STAT_STARTED, SERVERS_STATE_STARTED, "web", "web3")
    assert down.describe_check() == ", last check L4CON (Connection refused)"
    assert down.address == "127.0.0.1:50879"


@pytest.mark.parametrize("status, admin_bits, is_up", [
    ("UP", 0, True),
    ("no check", 0, True),
    ("UP 1/3", 0, False),   # just out of maint: no check has passed yet
    ("DOWN 1/2", 0, False),
    ("DOWN", 0, False),
    ("NOLB", 0, False),
    ("DRAIN", 8, False),
    ("UP", 8, False),
])
def test_server_state_is_up(status, admin_bits, is_up):
    current = hx.ServerState("b", "s", {"srv_admin_state": str(admin_bits)}, {"status": status})
    assert current.is_up is is_up


# ---------------------------------------------------------------------------
# planning
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("bits, weight, kwargs, steps", [
    # drain
    (0x00, 1, dict(state="drain"), [("set_state", "drain"), ("wait_sessions",)]),
    (0x00, 1, dict(state="drain", wait=False), [("set_state", "drain")]),
    (0x08, 1, dict(state="drain"), [("wait_sessions",)]),
    (0x08, 1, dict(state="drain", wait=False), []),
    (0x01, 1, dict(state="drain", wait=False), [("set_state", "drain")]),
    (0x08, 1, dict(state="drain", wait=False, drain=True), [("wait_sessions",)]),
    # maint
    (0x00, 1, dict(state="maint"), [("set_state", "maint")]),
    (0x01, 1, dict(state="maint"), []),
    (0x05, 1, dict(state="maint"), []),
    (0x02, 1, dict(state="maint"), [("set_state", "maint")]),  # inherited maint is not forced
    (0x00, 1, dict(state="maint", drain=True), [("set_state", "drain"), ("wait_sessions",), ("set_state", "maint")]),
    (0x00, 1, dict(state="maint", drain=True, wait=False),
     [("set_state", "drain"), ("wait_sessions",), ("set_state", "maint")]),
    (0x08, 1, dict(state="maint", drain=True), [("wait_sessions",), ("set_state", "maint")]),
    (0x01, 1, dict(state="maint", drain=True), []),
    # ready
    (0x01, 1, dict(state="ready"), [("set_state", "ready"), ("wait_up",)]),
    (0x08, 1, dict(state="ready", wait=False), [("set_state", "ready")]),
    (0x00, 1, dict(state="ready"), [("wait_up",)]),
    (0x00, 1, dict(state="ready", wait=False), []),
    (0x04, 1, dict(state="ready", wait=False), []),
    (0x02, 1, dict(state="ready", wait=False), []),  # nothing the runtime API can clear
    # weight
    (0x00, 1, dict(weight=1), []),
    (0x00, 1, dict(weight=50), [("set_weight", 50)]),
    (0x00, 3, dict(weight=0), [("set_weight", 0)]),
    (0x01, 1, dict(state="ready", weight=5), [("set_weight", 5), ("set_state", "ready"), ("wait_up",)]),
    (0x00, 1, dict(state="maint", drain=True, weight=0),
     [("set_state", "drain"), ("wait_sessions",), ("set_state", "maint"), ("set_weight", 0)]),
    (0x00, 1, dict(state="drain", weight=2, wait=False), [("set_state", "drain"), ("set_weight", 2)]),
])
def test_plan_server_change(bits, weight, kwargs, steps):
    assert hx.plan_server_change(Current(bits, weight), **kwargs) == steps


def test_plan_refuses_unknown_state():
    with pytest.raises(ValueError):
        hx.plan_server_change(Current(), state="up")


@pytest.mark.parametrize("steps, changes", [
    ([], False),
    ([("wait_up",)], False),
    ([("wait_sessions",), ("set_state", "maint")], True),
    ([("set_weight", 0)], True),
])
def test_steps_change(steps, changes):
    assert hx.steps_change(steps) is changes


@pytest.mark.parametrize("step, command", [
    (("set_state", "drain"), "set server app/app1 state drain"),
    (("set_weight", 12), "set server app/app1 weight 12"),
    (("wait_up",), None),
    (("wait_sessions",), None),
])
def test_step_command(step, command):
    assert hx.step_command("app", "app1", step) == command


@pytest.mark.parametrize("server, steps, admin_state, weight", [
    ("web1", [("set_state", "drain"), ("wait_sessions",), ("set_state", "maint")], "maint", 1),
    ("web1", [("set_weight", 9)], "ready", 9),
    ("web5", [("set_state", "ready")], "ready", 1),
    ("web1", [], "ready", 1),
])
def test_predict_after(server, steps, admin_state, weight):
    current = state_of(STAT_STARTED, SERVERS_STATE_STARTED, "web", server)
    after = hx.predict_after(current, steps)
    assert after["admin_state"] == admin_state
    assert after["weight"] == weight
    assert after["status"] == current.status and after["sessions"] == current.sessions


def test_predict_after_keeps_inherited_maint():
    current = state_of(STAT_CHANGED, SERVERS_STATE_CHANGED, "api", "api2")
    assert hx.predict_after(current, [("set_state", "ready")])["admin_state"] == "maint"


# ---------------------------------------------------------------------------
# socket spec and names
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("spec, expected", [
    ("/run/haproxy/admin.sock", ("unix", "/run/haproxy/admin.sock")),
    ("./admin.sock", ("unix", "./admin.sock")),
    ("admin.sock", ("unix", "admin.sock")),
    ("unix@/var/run/hap.sock", ("unix", "/var/run/hap.sock")),
    ("/tmp/odd:name.sock", ("unix", "/tmp/odd:name.sock")),
    ("127.0.0.1:9999", ("tcp", ("127.0.0.1", 9999))),
    (" 127.0.0.1:9999 ", ("tcp", ("127.0.0.1", 9999))),
    ("localhost:9999", ("tcp", ("localhost", 9999))),
    ("lb-1.example.internal:9999", ("tcp", ("lb-1.example.internal", 9999))),
    ("[::1]:9999", ("tcp", ("::1", 9999))),
    ("[fe80::1%eth0]:9999", ("tcp", ("fe80::1%eth0", 9999))),
    ("ipv4@127.0.0.1:9999", ("tcp", ("127.0.0.1", 9999))),
    ("ipv6@[::1]:9999", ("tcp", ("::1", 9999))),
])
def test_parse_socket_spec(spec, expected):
    assert hx.parse_socket_spec(spec) == expected


@pytest.mark.parametrize("spec, message", [
    ("", "socket is empty"),
    (None, "socket is empty"),
    ("127.0.0.1:", "neither a unix socket path"),
    ("127.0.0.1:http", "neither a unix socket path"),
    ("::1:9999", "neither a unix socket path"),
    ("[::1]", "neither a unix socket path"),
    ("127.0.0.1:70000", "port 70000 is out of range"),
    ("127.0.0.1:0", "port 0 is out of range"),
])
def test_parse_socket_spec_errors(spec, message):
    with pytest.raises(hx.HAProxyError, match=message):
        hx.parse_socket_spec(spec)


@pytest.mark.parametrize("name, valid", [
    ("app", True), ("app1_master", True), ("be-1.v2:x", True),
    ("", False), ("a b", False), ("app;shutdown sessions server app/app1", False), ("a\nb", False), ("a/b", False),
])
def test_check_name(name, valid):
    if valid:
        assert hx.check_name("server", name) == name
    else:
        with pytest.raises(hx.HAProxyError, match="not a valid HAProxy name"):
            hx.check_name("server", name)


def test_runtime_refuses_bad_timeout():
    with pytest.raises(hx.HAProxyError, match="socket_timeout must be a positive"):
        hx.HAProxyRuntime("/x.sock", timeout=0)


# ---------------------------------------------------------------------------
# socket I/O (local sockets only; the real HAProxy is in tests/integration)
# ---------------------------------------------------------------------------

SERVERS_STATE_WEB = "\n".join(
    line for line in SERVERS_STATE_CHANGED.splitlines() if not line.startswith("4 api")) + "\n"


@pytest.fixture
def fake(tmp_path):
    servers = []

    def start(answers=None, silent=False):
        server = FakeRuntimeSocket(str(tmp_path / ("rt%d.sock" % len(servers))), answers, silent=silent).start()
        servers.append(server)
        return server
    yield start
    for server in servers:
        server.stop()


def test_command_reads_until_close(fake):
    server = fake({"show backend": SHOW_BACKEND})
    runtime = hx.HAProxyRuntime(server.path)
    assert runtime.command("show backend") == "# name\nweb\napi"
    assert runtime.backends() == ["web", "api"]
    assert server.received == ["show backend", "show backend"]


def test_command_refuses_multiline(fake):
    server = fake({})
    with pytest.raises(hx.HAProxyError, match="must be one line"):
        hx.HAProxyRuntime(server.path).command("show stat\nshutdown sessions server web/web1")
    assert server.received == []


def test_server_reads_both_tables(fake):
    server = fake({"show servers state web": SERVERS_STATE_WEB, "show stat": STAT_CHANGED})
    current = hx.HAProxyRuntime(server.path).server("web", "web2")
    assert current.as_dict() == dict(admin_state="drain", status="DRAIN", weight=7, sessions=0, queued=0)
    assert server.received == ["show servers state web", "show stat"]


def test_server_unknown_backend_lists_backends(fake):
    server = fake({"show servers state nope": "Can't find backend.\n\n", "show backend": SHOW_BACKEND})
    with pytest.raises(hx.HAProxyError, match=r"HAProxy has no backend 'nope'; known backends: web, api"):
        hx.HAProxyRuntime(server.path).server("nope", "web1")


def test_server_unknown_server_lists_servers(fake):
    server = fake({"show servers state web": SERVERS_STATE_WEB})
    with pytest.raises(hx.HAProxyError, match=r"backend 'web' has no server 'web9'; its servers: web1, web2, web3, web4, web5"):
        hx.HAProxyRuntime(server.path).server("web", "web9")


def test_server_refuses_bad_names_before_sending(fake):
    server = fake({})
    with pytest.raises(hx.HAProxyError, match="not a valid HAProxy name"):
        hx.HAProxyRuntime(server.path).server("web", "web1;disable server web/web2")
    assert server.received == []


@pytest.mark.parametrize("method, args, command", [
    ("set_state", ("web", "web1", "drain"), "set server web/web1 state drain"),
    ("set_weight", ("web", "web1", 0), "set server web/web1 weight 0"),
    ("set_addr", ("web", "web1", "127.0.0.2", 8080), "set server web/web1 addr 127.0.0.2 port 8080"),
])
def test_writes_send_one_command(fake, method, args, command):
    answer = "IP changed from '127.0.0.1' to '127.0.0.2' by 'stats socket command'\n\n" if method == "set_addr" else "\n"
    server = fake({command: answer})
    getattr(hx.HAProxyRuntime(server.path), method)(*args)
    assert server.received == [command]


@pytest.mark.parametrize("answer, message", [
    ("Permission denied\n\n", r"refused 'set server web/web1 state drain': Permission denied \(the 'stats socket' line needs 'level admin'"),
    ("No such server.\n\n", "refused 'set server web/web1 state drain': No such server."),
])
def test_write_errors_are_reported(fake, answer, message):
    server = fake({"set server web/web1 state drain": answer})
    with pytest.raises(hx.HAProxyError, match=message):
        hx.HAProxyRuntime(server.path).set_state("web", "web1", "drain")


@pytest.mark.parametrize("method, args, message", [
    ("set_state", ("web", "web1", "up"), "state must be one of ready, drain, maint"),
    ("set_weight", ("web", "web1", 257), "weight must be between 0 and 256, got 257"),
    ("set_weight", ("web", "web1", "heavy"), "weight must be an integer"),
    ("set_addr", ("web", "web1", "app.local"), "is not an IP address"),
    ("set_addr", ("web", "web1", "127.0.0.1", 0), "port must be between 1 and 65535"),
])
def test_write_arguments_are_checked_before_sending(fake, method, args, message):
    server = fake({})
    with pytest.raises(hx.HAProxyError, match=message):
        getattr(hx.HAProxyRuntime(server.path), method)(*args)
    assert server.received == []


@pytest.mark.parametrize("answer, level", [("admin\n\n", "admin"), ("user\n\n", "user"), ("Unknown command\n", None)])
def test_cli_level(fake, answer, level):
    server = fake({"show cli level": answer})
    assert hx.HAProxyRuntime(server.path).cli_level() == level


def test_require_level_names_the_socket(fake):
    server = fake({"show cli level": "operator\n\n"})
    with pytest.raises(hx.HAProxyError, match=r"runtime socket .*rt0.sock has level 'operator'; changing servers needs 'level admin'"):
        hx.HAProxyRuntime(server.path).require_level()


def test_silent_socket_times_out(fake):
    server = fake({}, silent=True)
    with pytest.raises(hx.HAProxyError, match=r"did not finish answering 'show stat' within 0.3s"):
        hx.HAProxyRuntime(server.path, timeout=0.3).command("show stat")


def test_missing_socket(tmp_path):
    path = str(tmp_path / "absent.sock")
    with pytest.raises(hx.HAProxyError, match="HAProxy runtime socket %s does not exist" % path):
        hx.HAProxyRuntime(path).command("show info")


@pytest.mark.parametrize("make, kind", [("file", "a regular file"), ("dir", "a directory")])
def test_path_that_is_not_a_socket(tmp_path, make, kind):
    path = tmp_path / "admin.sock"
    if make == "file":
        path.write_text("")
    else:
        path.mkdir()
    with pytest.raises(hx.HAProxyError, match="%s exists but is not a unix socket \\(it is %s\\)" % (path, kind)):
        hx.HAProxyRuntime(str(path)).command("show info")


def test_stale_socket_is_refused(tmp_path):
    path = str(tmp_path / "stale.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.close()  # the file stays, nobody listens
    with pytest.raises(hx.HAProxyError, match="connection refused by HAProxy runtime socket .*stale socket"):
        hx.HAProxyRuntime(path).command("show info")


def test_tcp_refused():
    port = free_port()
    with pytest.raises(hx.HAProxyError, match="connection refused by HAProxy runtime API at 127.0.0.1:%d" % port):
        hx.HAProxyRuntime("127.0.0.1:%d" % port, timeout=2).command("show info")


def test_tcp_command():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    received = []

    def serve():
        conn = listener.accept()[0]
        with conn:
            received.append(conn.recv(100))
            conn.sendall(b"admin\n\n")
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        runtime = hx.HAProxyRuntime("127.0.0.1:%d" % listener.getsockname()[1], timeout=5)
        assert runtime.cli_level() == "admin"
    finally:
        thread.join(5)
        listener.close()
    assert received == [b"show cli level\n"]


def test_permission_denied(tmp_path):
    """A socket the caller may not write to. Root ignores file modes, so root runs the client without capabilities."""
    server = FakeRuntimeSocket(str(tmp_path / "locked.sock")).start()
    try:
        os.chmod(server.path, 0)
        code = ("import sys; sys.path[:0] = %r\n"
                "from ansible_collections.baton.docker.plugins.module_utils._haproxy import HAProxyRuntime, HAProxyError\n"
                "try:\n    HAProxyRuntime(%r).command('show info')\n"
                "except HAProxyError as exc:\n    print(exc)\n") % ([COLLECTIONS], server.path)
        cmd = [sys.executable, "-c", code]
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            assert setpriv, "root ignores file modes: setpriv (util-linux) is needed to drop that capability"
            cmd = [setpriv, "--bounding-set", "-all", "--inh-caps", "-all"] + cmd
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=60, check=False).stdout
        assert "permission denied on HAProxy runtime socket %s" % server.path in out
        assert server.received == []
    finally:
        server.stop()


# ---------------------------------------------------------------------------
# waits
# ---------------------------------------------------------------------------

def test_poll_returns_at_once_when_done():
    calls = []

    def done():
        calls.append(1)
        return True, "value"
    elapsed, value = hx.HAProxyRuntime("/x.sock").poll(done, timeout=5, interval=1)
    assert (value, len(calls)) == ("value", 1)


def test_poll_until_done():
    values = iter([3, 2, 0])

    def sessions():
        left = next(values)
        return left == 0, left
    elapsed, value = hx.HAProxyRuntime("/x.sock").poll(sessions, timeout=5, interval=0.01)
    assert value == 0


def test_poll_times_out_with_last_value():
    calls = []

    def never():
        calls.append(1)
        return False, len(calls)
    with pytest.raises(hx.HAProxyTimeout) as info:
        hx.HAProxyRuntime("/x.sock").poll(never, timeout=0.2, interval=0.05)
    assert info.value.last == len(calls) and len(calls) >= 2
    assert info.value.elapsed >= 0.2


def test_wait_for_drained_follows_sessions(fake):
    server = fake({"show servers state web": SERVERS_STATE_WEB,
                   "show stat": [STAT_SESSION_IN_FLIGHT, STAT_SESSION_IN_FLIGHT, STAT_SESSION_ENDED]})
    elapsed, current = hx.HAProxyRuntime(server.path).wait_for_drained("web", "web1", timeout=10, interval=0.01)
    assert current.sessions == 0
    assert server.received.count("show stat") == 3


def test_wait_for_drained_timeout_message(fake):
    server = fake({"show servers state web": SERVERS_STATE_WEB, "show stat": STAT_SESSION_IN_FLIGHT})
    with pytest.raises(hx.HAProxyTimeout, match=r"^server web/web1 still has 1 sessions after 0.3s$") as info:
        hx.HAProxyRuntime(server.path).wait_for_drained("web", "web1", timeout=0.3, interval=0.05)
    assert info.value.last.sessions == 1


def test_wait_for_up_timeout_message(fake):
    server = fake({"show servers state web": SERVERS_STATE_WEB, "show stat": STAT_CHANGED})
    with pytest.raises(hx.HAProxyTimeout, match=r"^server web/web3 is not UP after 0.2s: status DOWN, last check L4CON \(Connection refused\)$"):
        hx.HAProxyRuntime(server.path).wait_for_up("web", "web3", timeout=0.2, interval=0.05)


def test_wait_for_up_names_admin_state(fake):
    server = fake({"show servers state web": SERVERS_STATE_WEB, "show stat": STAT_CHANGED})
    with pytest.raises(hx.HAProxyTimeout, match=r"^server web/web1 is not UP after 0.2s: status MAINT, admin state maint \(forced maint\)$"):
        hx.HAProxyRuntime(server.path).wait_for_up("web", "web1", timeout=0.2, interval=0.05)


def test_wait_for_up_accepts_no_check(fake):
    server = fake({"show servers state web": SERVERS_STATE_WEB, "show stat": STAT_CHANGED})
    elapsed, current = hx.HAProxyRuntime(server.path).wait_for_up("web", "web4", timeout=5, interval=0.05)
    assert current.status == "no check"


def test_wait_until_takes_a_predicate_on_the_server_state(fake):
    server = fake({"show servers state web": SERVERS_STATE_WEB,
                   "show stat": [STAT_SESSION_IN_FLIGHT, STAT_SESSION_ENDED]})
    elapsed, current = hx.HAProxyRuntime(server.path).wait_until(lambda s: s.sessions == 0, "web", "web1", timeout=10, interval=0.01)
    assert current.sessions == 0 and current.status == "DRAIN"


def test_wait_until_timeout_names_what_and_last_state(fake):
    server = fake({"show servers state web": SERVERS_STATE_WEB, "show stat": STAT_CHANGED})
    with pytest.raises(hx.HAProxyTimeout, match=r"^server web/web2 did not reach weight 3 after 0.2s: admin state drain, status DRAIN, 0 sessions$"):
        hx.HAProxyRuntime(server.path).wait_until(lambda s: s.weight == 3, "web", "web2", timeout=0.2, interval=0.05, what="weight 3")


def test_show_stat_picks_the_backend_when_a_frontend_shares_its_name(fake):
    header = "# pxname,svname,scur,status,iid\n"
    answer = header + ("demo,FRONTEND,3,OPEN,2\n"
                       "demo,app1_master,1,UP,3\n"
                       "demo,app1_backup,0,UP,3\n"
                       "demo,BACKEND,1,UP,3\n"
                       "other,BACKEND,0,UP,4\n")
    server = fake({"show stat": answer})
    rows = hx.HAProxyRuntime(server.path).show_stat("demo")
    assert [r["svname"] for r in rows] == ["app1_master", "app1_backup"]
    with pytest.raises(hx.HAProxyError, match="nosuch"):
        hx.HAProxyRuntime(server.path).show_stat("nosuch")


STATE_DUMP = (
    "1\n"
    "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
    "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state "
    "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port "
    "srv_check_addr srv_agent_addr srv_agent_port\n"
    "3 demo 1 web1_master 127.0.0.1 0 1 1 1 3 15 3 3 6 0 0 0 - 50000 - 0 0 - - 0\n"
    "3 demo 2 web1_backup 127.0.0.1 2 0 1 1 8 15 3 3 6 0 0 0 - 50001 - 0 0 - - 0\n"
    "3 demo 3 web2_master 10.0.0.2 2 0 1 1 8 15 3 3 6 0 0 0 - 50000 - 0 0 - - 0\n"
)

NEW_CONFIG = """
global
    server-state-file /var/lib/haproxy/state
frontend demo
    bind *:80
backend demo
    server web1_master 127.0.0.1:50000 check
    server web1_backup 127.0.0.1:50011 check backup   # moved
    server web3_master 10.0.0.3:50000 check
"""


def test_config_servers_reads_backend_server_lines():
    assert hx.config_servers(NEW_CONFIG) == {
        ("demo", "web1_master"): ("127.0.0.1", "50000"),
        ("demo", "web1_backup"): ("127.0.0.1", "50011"),
        ("demo", "web3_master"): ("10.0.0.3", "50000"),
    }


def test_filter_server_state_keeps_only_unmoved_servers():
    kept = hx.filter_server_state(STATE_DUMP, NEW_CONFIG).splitlines()
    assert kept[0] == "1" and kept[1].startswith("# be_id")
    assert [line.split()[3] for line in kept[2:]] == ["web1_master"]
