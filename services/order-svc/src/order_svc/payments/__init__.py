"""Payment attempts, order-svc's side: initiating one through payment-svc, the view kept from its events
(which moves the order), the client's callback `POST /payments/verify`, and the attempt's trail."""
