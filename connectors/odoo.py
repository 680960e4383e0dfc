from connectors.polling import PollingConnector


class OdooConnector(PollingConnector):
    pass
