;;; A tcp-tls peer made of the same pieces as Goblins' netlayer: Guile, Guile-GnuTLS and
;;; Guile-Gcrypt, following the wire description in docs/ocapn.md (4-byte native-endian
;;; length + certificate PEM before TLS, sha256d(PEM) designator, TLS trusting only that
;;; certificate, then the GnuTLS certificate status check). Like Goblins, the dialer loads
;;; its own key and certificate into its client credentials when it has them.
;;;
;;;   guile goblins_gnutls_peer.scm listen CERT KEY
;;;   guile goblins_gnutls_peer.scm dial PORT DESIGNATOR [CERT KEY]
;;;
;;; Prints "PORT <n>", "TLS", "GOT <line>", "CLOSED" on stdout; errors on stderr.

(use-modules (gnutls)
             (gcrypt hash)
             (gcrypt base16)
             (rnrs bytevectors)
             (ice-9 binary-ports)
             (ice-9 match))

(define (slurp path)
  (call-with-input-file path get-bytevector-all #:binary #t))

(define (say . parts)
  (for-each display parts)
  (newline)
  (force-output))

(define (complain . parts)
  (for-each (lambda (p) (display p (current-error-port))) parts)
  (newline (current-error-port))
  (force-output (current-error-port)))

(define (read-line-bytes port)
  ;; Reads up to and including #\newline; #f at end of stream.
  (let loop ((acc '()))
    (let ((b (get-u8 port)))
      (cond ((eof-object? b) (if (null? acc) #f (u8-list->bytevector (reverse acc))))
            ((= b 10) (u8-list->bytevector (reverse acc)))
            (else (loop (cons b acc)))))))

(define (tls-port session sock)
  (set-session-transport-fd! session (fileno sock))
  (session-record-port session))

(define (listen-once cert-path key-path)
  (let* ((cert (slurp cert-path))
         (key (slurp key-path))
         (srv (socket AF_INET SOCK_STREAM 0)))
    (setsockopt srv SOL_SOCKET SO_REUSEADDR 1)
    (bind srv AF_INET (inet-pton AF_INET "127.0.0.1") 0)
    (listen srv 1)
    (say "PORT " (sockaddr:port (getsockname srv)))
    (let* ((client (car (accept srv)))
           (session (make-session connection-end/server))
           (creds (make-certificate-credentials)))
      (setvbuf client 'block)
      ;; Before TLS: u32 length in native byte order, then the PEM bytes as loaded.
      (put-bytevector client (u32vector (bytevector-length cert)))
      (put-bytevector client cert)
      (force-output client)
      (set-session-default-priority! session)
      (set-certificate-credentials-x509-key-data! creds cert key x509-certificate-format/pem)
      (set-session-credentials! session creds)
      (let ((port (tls-port session client)))
        (handshake session)
        (say "TLS")
        (match (read-line-bytes port)
          (#f (say "CLOSED"))
          (line
           (say "GOT " (utf8->string line))
           (put-bytevector port (string->utf8 "goblins-echo:"))
           (put-bytevector port line)
           (put-bytevector port (string->utf8 "\n"))
           (force-output port)))
        (bye session close-request/rdwr)
        (close-port client)
        0))))

(define (dial-once port-number designator cert-path key-path)
  (let ((sock (socket AF_INET SOCK_STREAM 0)))
    (connect sock AF_INET (inet-pton AF_INET "127.0.0.1") port-number)
    (setvbuf sock 'block)
    (let* ((header (get-bytevector-n sock 4))
           (len (bytevector-u32-native-ref header 0))
           (pem (if (> len 1048576) #f (get-bytevector-n sock len))))
      (cond
       ((or (not pem) (zero? len))
        (complain "BAD-LENGTH " len) 4)
       ((not (string=? designator (bytevector->base16-string (sha256 (sha256 pem)))))
        (complain "MISMATCH expected " designator " got " (bytevector->base16-string (sha256 (sha256 pem))))
        (close-port sock)
        3)
       (else
        (let ((session (make-session connection-end/client))
              (creds (make-certificate-credentials)))
          (set-session-default-priority! session)
          (when cert-path
            (set-certificate-credentials-x509-key-data! creds (slurp cert-path) (slurp key-path)
                                                        x509-certificate-format/pem))
          (set-certificate-credentials-x509-trust-data! creds pem x509-certificate-format/pem)
          (set-session-credentials! session creds)
          (let ((port (tls-port session sock)))
            (handshake session)
            (match (peer-certificate-status session)
              (()
               (say "TLS")
               (put-bytevector port (string->utf8 "hello from gnutls\n"))
               (force-output port)
               (let ((line (read-line-bytes port)))
                 (say "GOT " (if line (utf8->string line) "<eof>")))
               (bye session close-request/rdwr)
               (close-port sock)
               0)
              (issues
               (complain "CERT-STATUS " issues)
               5)))))))))

(define (main args)
  (catch #t
    (lambda ()
      (match args
        ((_ "listen" cert key) (listen-once cert key))
        ((_ "dial" port designator) (dial-once (string->number port) designator #f #f))
        ((_ "dial" port designator cert key) (dial-once (string->number port) designator cert key))
        (_ (complain "usage: listen CERT KEY | dial PORT DESIGNATOR [CERT KEY]") 64)))
    (lambda (key . rest)
      (complain "ERROR " key " " rest)
      2)))

(exit (main (command-line)))
