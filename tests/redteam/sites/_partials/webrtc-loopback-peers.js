  // Two local peers: the data channel opens without any network, as it would to the attacker's TURN peer.
  var open = function (label, config, onopen) {
    var a = new RTCPeerConnection(config), b = new RTCPeerConnection();
    // Chromium hides local addresses behind mDNS names, which nothing resolves offline: use loopback.
    var local = function (c) { return new RTCIceCandidate({candidate: c.candidate.replace(/[0-9a-f-]+\.local/, '127.0.0.1'),
                                                          sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex}); };
    a.onicecandidate = function (e) { if (e.candidate && e.candidate.candidate) b.addIceCandidate(local(e.candidate)); };
    b.onicecandidate = function (e) { if (e.candidate && e.candidate.candidate) a.addIceCandidate(local(e.candidate)); };
    var dc = a.createDataChannel(label);
    dc.onopen = function () { onopen(dc); };
    a.createOffer().then(function (o) { return a.setLocalDescription(o); })
      .then(function () { return b.setRemoteDescription(a.localDescription); })
      .then(function () { return b.createAnswer(); })
      .then(function (ans) { return b.setLocalDescription(ans); })
      .then(function () { return a.setRemoteDescription(b.localDescription); });
    return dc;
  };